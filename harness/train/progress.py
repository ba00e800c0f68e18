"""A progress bar for a training job, counting steps (the trainer's own tqdm bar goes to the run's
log): rich's on a terminal, plain timestamped lines elsewhere (harness.console.progress_bars)."""
from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from transformers import TrainerCallback

from harness.console import PlainProgress, progress_bars


class TrainingProgressCallback(TrainerCallback):
    def __init__(self, label: str) -> None:
        self.label = label
        self.progress: Progress | PlainProgress | None = None
        self.task = None

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self.progress = progress_bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), TimeRemainingColumn(),
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
