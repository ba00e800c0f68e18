"""The local executor: every job in this process, one after another, each after what it reads.

Generation engines are kept from one job to the next (a checkpoint switch, not a new engine),
as a single-process run always did."""
from __future__ import annotations

import time
from typing import Any

from harness.executors.progress import job_bars
from harness.jobs import Job, JobContext, in_order


class LocalExecutor:
    name = "local"

    def __init__(self, **_: Any) -> None:
        self.wall_s: dict[str, float] = {}  # job key -> seconds

    def check(self) -> None:
        """Nothing to check: this process is the executor."""

    def run(self, jobs: list[Job]) -> dict[str, Any]:
        ordered = in_order(jobs)
        results: dict[str, Any] = {}
        ctx = JobContext()
        try:
            with job_bars(ordered) as bars:
                for job in ordered:
                    bars.describe(job)
                    ctx.advance = lambda n, job=job: bars.advance(job, n)
                    t0 = time.time()
                    results[job.key] = job.fn(ctx, *job.args)
                    self.wall_s[job.key] = round(time.time() - t0, 2)
                    bars.finish(job)
        finally:
            ctx.close()
        return results

    def close(self) -> None:
        """Nothing held between runs."""
