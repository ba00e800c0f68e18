"""A run as a DAG of jobs (../README.md, "Scale-out").

A job is one cached stage: its `key` is the stage's content hash (harness.store.Stage), it
names the jobs whose outputs it reads (`after`), asks for resources, and writes only into its
own cache folder, atomically. Because a job is pure in its key, where it runs does not matter:
an executor (harness.executors) decides that, and a job whose key is done returns at once.

Job functions are module-level (harness.stage_jobs) and take plain, picklable arguments, so a
Ray worker on another machine runs them as well as this process does. Their first argument is
the `JobContext` the executor gives them: a progress callback, and the generation engines a
process keeps between jobs.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from harness.errors import HarnessError


@dataclasses.dataclass(frozen=True)
class Resources:
    """What one job asks of the machine that runs it (Ray's resource request)."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory_gib: float | None = None


@dataclasses.dataclass
class Job:
    key: str                    # "<stage>/<stage key>": the cache folder it writes
    name: str                   # what a person reads: "train dpo-seed1"
    fn: Callable[..., Any]      # fn(ctx, *args) -> a small, picklable result
    args: tuple = ()
    after: tuple[str, ...] = ()  # keys of the jobs it reads
    resources: Resources = Resources()
    units: int = 1              # progress units: samples for generation, 1 otherwise


class JobContext:
    """What a job may use from the process it runs in: `advance(n)` moves the run's progress bar
    (a no-op on Ray), `pool(...)` is a generation engine kept for the next job of this process
    (the local executor keeps one for the whole run; a Ray job closes its own at the end)."""

    def __init__(self, advance: Callable[[int], None] | None = None) -> None:
        self.advance = advance or (lambda n: None)
        self._pools: dict[tuple, Any] = {}

    def pool(self, spec, dtype: str, seed: int):
        from harness.generate.stage import GeneratorPool
        key = (spec.backend, spec.batch_size, dtype, seed)
        if key not in self._pools:
            self._pools[key] = GeneratorPool(spec, dtype, seed)
        return self._pools[key]

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


def in_order(jobs: list[Job]) -> list[Job]:
    """The jobs in an order where each comes after what it reads (stable otherwise); a job
    that reads an unknown key or a cycle is a bug in the DAG, said before anything runs."""
    by_key = {}
    for job in jobs:
        by_key.setdefault(job.key, job)
    for job in jobs:
        missing = [k for k in job.after if k not in by_key]
        if missing:
            raise HarnessError(f"job {job.name} reads {missing[0]}, which no job of this run writes")
    out, state = [], {}

    def visit(job: Job, path: tuple[str, ...]) -> None:
        if state.get(job.key) == "done":
            return
        if job.key in path:
            raise HarnessError(f"jobs form a cycle: {' -> '.join(path + (job.key,))}")
        for dep in job.after:
            visit(by_key[dep], path + (job.key,))
        state[job.key] = "done"
        out.append(job)

    for job in by_key.values():
        visit(job, ())
    return out
