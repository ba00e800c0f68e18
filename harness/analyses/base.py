"""The two kinds of analysis (harness.analyses) and what each must say about itself."""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Protocol


class Analysis(ABC):
    #: table name (the results file ``<table>.csv`` and the stage file ``<table>.json``) -> columns
    #: of its rows; the run puts ``model`` and ``seed`` in front
    tables: ClassVar[dict[str, list[str]]]


class CheckpointAnalysis(Analysis):
    """A job of its own on every checkpoint of a run, cached as a stage keyed by the checkpoint
    and `inputs`."""

    @abstractmethod
    def inputs(self, cfg, data) -> dict[str, Any] | None:
        """Everything `run` needs besides the checkpoint, taken from the run's config and data at
        planning time (JSON-able; it is the job's key); None when the run has nothing to analyse
        (no job is made)."""

    @abstractmethod
    def run(self, inputs: dict[str, Any], model_dir: str) -> dict[str, list[dict]]:
        """{table: rows} for the checkpoint in `model_dir`, from `inputs` alone (the job never
        sees the run's config)."""


class ProbeCallback(Protocol):
    """A transformers TrainerCallback that also returns what it measured."""

    def tables(self) -> dict[str, list[dict]]: ...


class TrainingProbe(Analysis):
    """A callback inside each training job; its inputs join the training stage's key."""

    @abstractmethod
    def inputs(self, data, train) -> Any | None:
        """The probe's JSON-able inputs for one training (`train`: its TrainSpec), passed to
        `callback` in the training process; None when there is nothing to probe."""

    @abstractmethod
    def callback(self, tokenizer, train, inputs: Any, folder: Path) -> ProbeCallback:
        """The callback for one training; `folder` is the training stage's folder (for resumable
        partial results)."""
