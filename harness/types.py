"""Small core types shared by tasks, generators and metrics."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Literal

Message = dict[str, str]  # {"role": ..., "content": ...}


@dataclasses.dataclass(frozen=True)
class Sample:
    """One benchmark item. `turns` are the user turns the model answers in order (MT-Bench has
    two); `history` is fixed earlier conversation given as context (HH-RLHF dialogues);
    `references` are reference answers, one per turn where the task has per-turn references."""

    id: str
    turns: list[str]
    references: list[str] = dataclasses.field(default_factory=list)
    category: str = ""
    history: list[Message] = dataclasses.field(default_factory=list)
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class GenerateParams:
    max_new_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class SampleScore:
    """A metric's verdict on one sample. `score` is None when status is not "ok"."""

    sample_id: str
    metric: str
    score: float | None
    status: Literal["ok", "error", "not_judged"] = "ok"
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Task:
    """A benchmark task: where samples come from, how to generate, which metrics apply.

    `generate_params` may be a function of the sample (MT-Bench sets temperature per category).
    `outputs`, where set, writes the task's own tables into the run folder once every model has
    answered: outputs(samples, {model row: answers per sample}, run folder, baseline row or None)
    (IFEval's accuracy per instruction kind).
    """

    name: str
    load: Callable[[], list[Sample]]
    metrics: tuple[str, ...]
    generate_params: GenerateParams | Callable[[Sample], GenerateParams] = GenerateParams()
    description: str = ""
    version: str = "1"
    outputs: Callable[[list[Sample], dict[str, list[list[str]]], Any, str | None], Any] | None = None

    def params_for(self, sample: Sample) -> GenerateParams:
        gp = self.generate_params
        return gp(sample) if callable(gp) else gp
