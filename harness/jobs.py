"""A run as a DAG of jobs (../README.md, "Scale-out").

A job is one cached stage. It is a function of three things and nothing else: one frozen inputs
object (harness.job_inputs: exactly the settings it uses), the folders of the jobs it reads
(`upstream`, each by its key), and the versions of the libraries whose output it depends on. Its
key is the digest of those three, so a cache can never attach old results to new settings: a
setting a job does not receive cannot shape its output, and a setting it receives is in its key.

Job functions are module-level (harness.stage_jobs) and take `(ctx, inputs, upstream folders,
stage)`, all picklable, so a Ray worker on another machine runs them as well as this process
does. `ctx` is the `JobContext` the executor gives them: a progress callback, and the generation
engines a process keeps between jobs. A job whose key is done returns at once.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

from harness.errors import HarnessError
from harness.store import Stage, digest_json


@dataclasses.dataclass(frozen=True)
class Resources:
    """What one job asks of the machine that runs it (Ray's resource request)."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory_gib: float | None = None


@dataclasses.dataclass(frozen=True)
class Upstream:
    """A folder a job reads: another job's output (`job` True: its key is that job's key, and the
    job runs first), or a folder outside the cache used in place (a model.path checkpoint: its key
    is a digest of the folder)."""

    key: str
    dir: str
    job: bool = True


@dataclasses.dataclass(frozen=True)
class Job:
    kind: str                    # the stage kind: the cache folder <cache>/<kind>/ and the function's kind
    name: str                    # what a person reads: "train:dpo-seed1"
    fn: Callable[..., Any]       # fn(ctx, inputs, upstream dirs, stage) -> a small, picklable result
    inputs: Any                  # a harness.job_inputs.JobInputs
    upstream: dict[str, Upstream]
    versions: dict[str, str]     # library -> version, of the libraries the kind's output depends on
    cache: Path
    resources: Resources = Resources()
    units: int = 1               # progress units: samples for generation, 1 otherwise

    digest: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", digest_json({
            "kind": self.kind, "inputs": self.inputs.key_fields(),
            "upstream": {role: u.key for role, u in sorted(self.upstream.items())}, "versions": self.versions}))

    @property
    def key(self) -> str:
        """"<kind>/<digest>": the cache folder it writes, relative to the cache."""
        return f"{self.kind}/{self.digest}"

    @property
    def after(self) -> tuple[str, ...]:
        """Keys of the jobs it reads."""
        return tuple(u.key for u in self.upstream.values() if u.job)

    @property
    def stage(self) -> Stage:
        return Stage.at(self.cache, self.kind, self.digest, {
            "kind": self.kind, "name": self.name, "inputs": self.inputs.model_dump(mode="json"),
            "upstream": {role: u.key for role, u in self.upstream.items()}, "versions": self.versions})

    def run(self, ctx: "JobContext") -> Any:
        return self.fn(ctx, self.inputs, {role: Path(u.dir) for role, u in self.upstream.items()}, self.stage)


class JobContext:
    """What a job may use from the process it runs in: `advance(n)` moves the run's progress bar
    (a no-op on Ray), `pool(...)` is a generation engine kept for the next job of this process
    (the local executor keeps one for the whole run; a Ray job closes its own at the end)."""

    def __init__(self, advance: Callable[[int], None] | None = None) -> None:
        self.advance = advance or (lambda n: None)
        self._pools: dict[tuple, Any] = {}

    def pool(self, spec, dtype: str, seed: int):
        from harness.generate.stage import GeneratorPool
        key = (spec.model_dump_json(), dtype, seed)
        if key not in self._pools:
            self._pools[key] = GeneratorPool(spec, dtype, seed)
        return self._pools[key]

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


def in_order(jobs: list[Job]) -> list[Job]:
    """The jobs in an order where each comes after what it reads (stable otherwise), each key once;
    a job that reads a key no job of the run writes is a bug of the plan, said before anything runs.
    (Jobs cannot form a cycle: a job's key is a digest of the keys it reads.)"""
    by_key: dict[str, Job] = {}
    for job in jobs:
        by_key.setdefault(job.key, job)
    for job in jobs:
        missing = [k for k in job.after if k not in by_key]
        if missing:
            raise HarnessError(f"job {job.name} reads {missing[0]}, which no job of this run writes")
    out: list[Job] = []
    done: set[str] = set()

    def visit(job: Job) -> None:
        if job.key in done:
            return
        for dep in job.after:
            visit(by_key[dep])
        done.add(job.key)
        out.append(job)

    for job in by_key.values():
        visit(job)
    return out
