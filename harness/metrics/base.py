"""The Metric seam: per-sample scores, plus a corpus figure where the metric has one."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from harness.registry import Registry
from harness.types import Sample, SampleScore

METRICS: Registry[type["Metric"]] = Registry("metric")


class Metric(ABC):
    name: ClassVar[str]
    higher_is_better: ClassVar[bool] = True
    scale: ClassVar[tuple[float, float]] = (0.0, 100.0)

    @abstractmethod
    def score(self, answers: list[list[str]], samples: list[Sample]) -> list[SampleScore]:
        """answers[i] holds the model's answer to each turn of samples[i]."""

    def corpus(self, answers: list[list[str]], samples: list[Sample]) -> float | None:
        """A corpus-level figure where it differs from the mean of sample scores (e.g. BLEU)."""
        return None


def metric(cls: type[Metric]) -> type[Metric]:
    METRICS.add(cls.name, cls)
    return cls
