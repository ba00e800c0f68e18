"""The local executor: every job on this machine, one after another, each after what it reads.

In this process by default, where generation engines are kept from one job to the next (a
checkpoint switch, not a new engine). With `isolate` (the default where CUDA is present) each
job runs in a fresh child process instead, so a training job's memory is gone before generation
takes the device, and the other way round."""
from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from harness.console import console
from harness.executors.progress import job_bars, stage_title
from harness.jobs import Job, JobContext, in_order


class LocalExecutor:
    name = "local"

    def __init__(self, isolate: bool | None = None, **_: Any) -> None:
        if isolate is None:
            import torch
            isolate = torch.cuda.is_available()
        self.isolate = isolate
        self.wall_s: dict[str, float] = {}  # job key -> seconds

    def check(self) -> None:
        """Nothing to check: this machine is the executor."""

    def run(self, jobs: list[Job]) -> dict[str, Any]:
        ordered = in_order(jobs)
        results: dict[str, Any] = {}
        ctx = JobContext()
        try:
            with job_bars(ordered) as bars:
                for i, job in enumerate(ordered):
                    if i == 0 or stage_title(job) != stage_title(ordered[i - 1]):
                        console.rule(f"[bold]{stage_title(job)}")  # jobs run in stage order here
                    bars.describe(job)
                    t0 = time.time()
                    if self.isolate:
                        results[job.key] = _in_child(job)
                    else:
                        ctx.advance = lambda n, job=job: bars.advance(job, n)
                        results[job.key] = job.run(ctx)
                    self.wall_s[job.key] = round(time.time() - t0, 2)
                    bars.finish(job)
        finally:
            ctx.close()
        return results

    def close(self) -> None:
        """Nothing held between runs."""


def _in_child(job: Job) -> Any:
    """The job in a fresh spawned process (no CUDA state inherited), which exits when it is done."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_run_isolated, job).result()


def _run_isolated(job: Job) -> Any:
    ctx = JobContext()
    try:
        return job.run(ctx)
    finally:
        ctx.close()
