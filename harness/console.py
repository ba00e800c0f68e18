"""The terminal of a run: stage headers, progress bars and the final table, nothing else.

Everything else a run writes to stdout or stderr -- library warnings, vLLM's and torch's C++
messages, tqdm bars, the trainer's per-step dictionaries -- goes to `results/<run>/logs/run.log`.
The redirection is at the file-descriptor level, so it also catches what native code and child
processes print; `harness run --verbose` turns it off.
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from rich.console import Console

console = Console(stderr=True)  # every module of a run prints through this one


@contextmanager
def _fds_to(log_path: Path) -> Iterator[object]:
    """While inside: this process's fds 1 and 2 (native code and children included) append to
    `log_path`; yields the open log file."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "a", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield log
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


@contextmanager
def quiet_terminal(log_path: Path, verbose: bool = False) -> Iterator[None]:
    """While inside: fds 1 and 2 append to `log_path`, `console` writes to the real terminal."""
    if verbose:
        yield
        return
    terminal = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8")
    previous = console._file  # None: whatever sys.stderr is when it writes (not the stream of this moment)
    with _fds_to(log_path):
        console.file = terminal
        try:
            yield
        finally:
            console._file = previous
            terminal.close()


@contextmanager
def all_output_to(log_path: Path) -> Iterator[None]:
    """A job on a worker has no terminal: its fds 1 and 2 and the console append to `log_path`."""
    previous = console._file
    with _fds_to(log_path) as log:
        console.file = log
        try:
            yield
        finally:
            console._file = previous


#: seconds between two plain progress lines of one bar where the console is not a terminal
PLAIN_PROGRESS_EVERY_S = 60.0


def progress_bars(*columns, transient: bool = False):
    """rich's live bars on a terminal. Elsewhere (a pipe, a file, CI) rich draws nothing until the
    bars stop, so a long stage would be silent: there, plain timestamped lines (PlainProgress)."""
    if console.is_terminal:
        from rich.progress import Progress
        return Progress(*columns, console=console, transient=transient)
    return PlainProgress(transient=transient)


class PlainProgress:
    """The part of rich.progress.Progress the harness uses, printed as lines such as
    ``14:02:11 training dpo 7/12 (3m05s)``: a bar that has been moving for PLAIN_PROGRESS_EVERY_S
    prints a line, then at most one per PLAIN_PROGRESS_EVERY_S, and one when it completes. A
    transient bar (one training's steps) done sooner prints nothing, as rich's leaves nothing."""

    def __init__(self, every_s: float | None = None, transient: bool = False) -> None:
        self.every_s = PLAIN_PROGRESS_EVERY_S if every_s is None else every_s
        self.transient = transient
        self.tasks: dict[int, dict] = {}

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Nothing to start: lines are printed as bars move."""

    def stop(self) -> None:
        """Nothing to clear: every line printed stays."""

    @property
    def task_ids(self) -> list[int]:
        return list(self.tasks)

    def add_task(self, description: str, total: float | None = None, completed: float = 0, **_: object) -> int:
        task_id = len(self.tasks)
        self.tasks[task_id] = dict(description=description, total=total, completed=completed,
                                   started=None, printed=None, done=False)
        return task_id

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def update(self, task_id: int, *, completed: float | None = None, advance: float | None = None,
               description: str | None = None, **_: object) -> None:
        task = self.tasks[task_id]
        now = time.monotonic()
        if task["started"] is None:
            task["started"] = now  # a bar's time counts from its first move, not from when it was added
        task["description"] = description if description is not None else task["description"]
        task["completed"] = completed if completed is not None else task["completed"] + (advance or 0)
        finished = task["total"] is not None and task["completed"] >= task["total"]
        due = now - (task["printed"] or task["started"]) >= self.every_s
        if task["done"] or not (due or (finished and (task["printed"] is not None or not self.transient))):
            return
        task["done"], task["printed"] = finished, now
        elapsed = int(now - task["started"])
        of = f"/{task['total']:g}" if task["total"] is not None else ""
        console.print(f"{time.strftime('%H:%M:%S')} {task['description']} {task['completed']:g}{of} "
                      f"({elapsed // 60}m{elapsed % 60:02d}s)", highlight=False, markup=False, soft_wrap=True)
