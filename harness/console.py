"""The terminal of a run: stage headers, progress bars and the final table, nothing else.

Everything else a run writes to stdout or stderr -- library warnings, vLLM's and torch's C++
messages, tqdm bars, the trainer's per-step dictionaries -- goes to `results/<run>/logs/run.log`.
The redirection is at the file-descriptor level, so it also catches what native code and child
processes print; `harness run --verbose` turns it off.
"""
from __future__ import annotations

import os
import sys
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
