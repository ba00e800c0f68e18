"""Progress where the console is not a terminal (a pipe, a file, CI): rich draws nothing there
until its bars stop, so a long stage prints plain timestamped lines instead (harness.console)."""
from __future__ import annotations

import io
import re
import time
from types import SimpleNamespace

import pytest

import harness.console as hc
from harness.console import PlainProgress, console, progress_bars


@pytest.fixture
def captured(monkeypatch) -> io.StringIO:
    buf = io.StringIO()
    monkeypatch.setattr(console, "_file", buf)
    return buf


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    return now


def test_a_long_bar_prints_a_line_a_minute_and_one_at_the_end(captured, clock):
    bars = PlainProgress(every_s=60)
    bar = bars.add_task("training dpo", total=12)
    for t, step in [(0, 1), (30, 2), (61, 3), (90, 4), (125, 5), (130, 12), (140, 12)]:
        clock[0] = 1000.0 + t
        bars.update(bar, completed=step)
    lines = captured.getvalue().splitlines()
    assert [re.sub(r"^\d\d:\d\d:\d\d ", "", x) for x in lines] == [
        "training dpo 3/12 (1m01s)", "training dpo 5/12 (2m05s)", "training dpo 12/12 (2m10s)"]


@pytest.mark.parametrize("transient", [True, False])
def test_a_short_bar_prints_its_end_unless_transient(captured, clock, transient):
    with PlainProgress(every_s=60, transient=transient) as bars:
        bar = bars.add_task("generating", total=4)
        for t in range(3):
            clock[0] = 1000.0 + 10 * t
            bars.advance(bar)
        assert captured.getvalue() == ""
        bars.update(bars.task_ids[0], advance=1, description="generating sft")
        bars.update(bar, completed=4)  # already done: no second line
    lines = [re.sub(r"^\d\d:\d\d:\d\d ", "", x) for x in captured.getvalue().splitlines()]
    assert lines == ([] if transient else ["generating sft 4/4 (0m20s)"])


def test_not_a_terminal_gets_plain_lines_a_terminal_gets_rich_bars(monkeypatch):
    monkeypatch.setattr(console, "_force_terminal", False)
    assert isinstance(progress_bars(), PlainProgress)
    monkeypatch.setattr(console, "_force_terminal", True)
    from rich.progress import Progress
    assert isinstance(progress_bars(), Progress)


def test_training_progress_in_a_pipe(captured, monkeypatch):
    """The trainer callback of every training job: step lines where stderr is not a terminal."""
    from harness.train.progress import TrainingProgressCallback
    monkeypatch.setattr(console, "_force_terminal", False)
    monkeypatch.setattr(hc, "PLAIN_PROGRESS_EVERY_S", 0.0)
    callback = TrainingProgressCallback("the starting checkpoint (SFT)")
    state = SimpleNamespace(is_world_process_zero=True, max_steps=3, global_step=0)
    callback.on_train_begin(None, state, None)
    for step in (1, 2, 3):
        state.global_step = step
        callback.on_step_end(None, state, None)
    callback.on_train_end(None, state, None)
    lines = captured.getvalue().splitlines()
    assert len(lines) == 3 and lines[-1].split(" ", 1)[1].startswith("training the starting checkpoint (SFT) 3/3")


def test_a_stage_ends_with_its_own_name_not_its_last_job(captured, clock):
    from harness.executors.progress import JobBars
    jobs = [SimpleNamespace(key=f"train/{k}", units=1, name=f"train:{m}") for k, m in (("a", "dpo"), ("b", "orpo"))]
    with PlainProgress(every_s=60) as plain:
        bars = JobBars(plain, jobs)
        for job in jobs:
            bars.describe(job)
            clock[0] += 50  # the last job ends when the bar is due: one line, at the end, not two
            bars.finish(job)
    assert [re.sub(r"^\d\d:\d\d:\d\d ", "", x) for x in captured.getvalue().splitlines()] == ["training 2/2 (1m40s)"]
