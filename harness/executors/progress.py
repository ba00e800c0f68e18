"""The run's progress bars while jobs execute: one bar per kind of stage, counting units (samples
for generation, jobs otherwise)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.console import PlainProgress, progress_bars
from harness.jobs import Job

#: a stage's header on the console and its name in the manifest's stage_wall_s, where not the job kind's
STAGE_TITLES = {"answers": "generate"}
BAR_NAMES = {"answers": "generating", "train": "training", "token_logps": "token log-probs",
             "reference": "reference log-probs", "base": "starting checkpoint", "source": "model source"}


class JobBars:
    """`advance(job, n)` moves the bar of the job's stage; `finish(job)` tops it up to the job's
    units (a job that reports no progress of its own, or a Ray job, moves it only then)."""

    def __init__(self, progress: Progress | PlainProgress, jobs: list[Job]) -> None:
        self.progress = progress
        self.units = {job.key: job.units for job in jobs}
        self.moved = dict.fromkeys(self.units, 0)
        totals: dict[str, int] = {}  # per stage, over distinct keys, in order of first appearance
        for key, units in self.units.items():
            totals[key.split("/", 1)[0]] = totals.get(key.split("/", 1)[0], 0) + units
        self.left = dict(totals)  # units per stage still to come
        self.bars = {stage: progress.add_task(BAR_NAMES.get(stage, stage), total=total)
                     for stage, total in totals.items()}

    def advance(self, job: Job, n: int) -> None:
        n = min(n, self.units[job.key] - self.moved[job.key])
        if n > 0:
            self.moved[job.key] += n
            stage = stage_of(job)
            self.left[stage] -= n
            done = {"description": BAR_NAMES.get(stage, stage)} if self.left[stage] == 0 else {}  # the stage's name
            self.progress.update(self.bars[stage], advance=n, **done)

    def describe(self, job: Job) -> None:
        self.progress.update(self.bars[stage_of(job)], description=f"{BAR_NAMES.get(stage_of(job), stage_of(job))} "
                                                                   f"{job.name.split(':', 1)[-1]}")

    def finish(self, job: Job) -> None:
        self.advance(job, self.units[job.key])


def stage_title(job: Job) -> str:
    return STAGE_TITLES.get(stage_of(job), stage_of(job))


def stage_of(job: Job) -> str:
    return job.key.split("/", 1)[0]


@contextmanager
def job_bars(jobs: list[Job]) -> Iterator[JobBars]:
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with progress_bars(*columns) as progress:
        yield JobBars(progress, jobs)
