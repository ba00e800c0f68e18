"""Task discovery: a task is one file in a tasks folder, defining a function decorated @task.

The project's own `tasks/` folder is always scanned; `--tasks-dir` adds a user's folder. Each
`*.py` file is imported by path, so a user's task file needs nothing but `from harness import task`.
"""
from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from pathlib import Path
from typing import Callable

from harness.errors import HarnessError
from harness.registry import Registry
from harness.types import Task

TASKS: Registry[Callable[..., Task]] = Registry("task")
_loaded: set[Path] = set()


def task(fn: Callable[..., Task]) -> Callable[..., Task]:
    """Register a task factory under its function name. Keyword arguments of the factory are
    the task's options, settable from the run config (e.g. ``n_samples``)."""
    TASKS.add(fn.__name__, fn)
    return fn


def builtin_tasks_dir() -> Path:
    """The shipped tasks: `harness/_tasks` in an installed wheel, the repository's `tasks/` in a
    checkout (or an editable install); HARNESS_TASKS_DIR overrides both."""
    env = os.environ.get("HARNESS_TASKS_DIR")
    if env:
        return Path(env)
    package = Path(__file__).resolve().parent
    installed = package / "_tasks"
    return installed if installed.is_dir() else package.parent / "tasks"


def discover(extra_dirs: list[Path] | None = None) -> Registry[Callable[..., Task]]:
    for folder in [builtin_tasks_dir(), *(extra_dirs or [])]:
        if not folder.is_dir():
            raise HarnessError("tasks folder not found", file=folder)
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_") or path.resolve() in _loaded:
                continue
            _import_file(path)
    return TASKS


def build_task(cfg, spec, field: str, config_path: Path | None = None) -> tuple[Task, list]:
    """A run's task from its spec (`tasks[i]` or `tuning.task`), with its samples. A factory that
    takes `run_config` gets the run's config; a bad option or metric name is a one-line error."""
    from harness.metrics import METRICS
    registry = discover([Path(d) for d in cfg.tasks_dirs])
    where = str(config_path or "")
    factory = registry.get(spec.name, file=where, field=f"{field}.name")
    kwargs = dict(spec.options)
    if "run_config" in inspect.signature(factory).parameters:
        kwargs["run_config"] = cfg
    try:
        task = factory(**kwargs)
    except TypeError as exc:
        raise HarnessError(f"bad option for task {spec.name!r}: {exc}", file=config_path,
                           field=f"{field}.options") from None
    for name in task.metrics:
        METRICS.get(name, file=where, field=f"{field} ({spec.name}) metrics")
    samples = task.load()
    if not samples:
        raise HarnessError(f"task {spec.name!r} loaded no samples (its load() returned nothing)", file=config_path,
                           field=field)
    return task, samples


def _import_file(path: Path) -> None:
    name = f"harness_tasks_{path.stem}_{abs(hash(str(path.resolve()))) % 10**8}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except HarnessError:
        raise
    except Exception as exc:  # a broken user task file is bad input, not a crash
        raise HarnessError(f"cannot import task file ({type(exc).__name__}: {exc})", file=path) from None
    _loaded.add(path.resolve())


def data_dir() -> Path:
    """Where shipped task data lives (tasks/data/<task>/, each with its licence)."""
    return builtin_tasks_dir() / "data"
