"""A rich progress bar for a training job (the trainer's own tqdm bar goes to the run's log)."""
from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from transformers import TrainerCallback

from harness.console import console


class RichProgressCallback(TrainerCallback):
    def __init__(self, label: str) -> None:
        self.label = label
        self.progress: Progress | None = None
        self.task = None

    def on_train_begin(self, args, state, control, **kwargs):
        # not in a log or a pipe: a bar that is not redrawn in place only adds lines there
        if not state.is_world_process_zero or not console.is_terminal:
            return
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                                 transient=True)  # the run's own bars count finished jobs
        self.progress.start()
        self.task = self.progress.add_task(f"training {self.label}", total=state.max_steps,
                                           completed=state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_train_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
