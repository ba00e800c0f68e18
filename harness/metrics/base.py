"""The Metric seam: per-sample scores, plus a corpus figure where the metric has one.

Two kinds share one registry (a task names its metrics without knowing which kind they are):

* `Metric`: computed from one model's answers alone (BLEU, ROUGE, exact match).
* `JudgedMetric`: computed by a judge model. Judged metrics that name the same `judge` function
  are computed in one pass over every model row of the task, because a pairwise judge compares
  rows and one concurrent pass shares the client, its cache and its retries. A second judged
  benchmark is a task file plus one file like harness/metrics/mt_bench.py.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

from harness.registry import Registry
from harness.types import Sample, SampleScore, Task

#: judge(run config, task, samples, {(model row, task name): answer records}, metric names,
#:       results dir, cache dir) -> score rows in harness.run_tables.SCORE_COLUMNS layout
JudgeFn = Callable[[Any, Task, list[Sample], Mapping[tuple[str, str], list[dict]], list[str], Path, Path],
                   list[dict]]

METRICS: Registry[type["Metric"] | type["JudgedMetric"]] = Registry("metric")


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


class JudgedMetric:
    """A metric whose scores a judge model gives (see the module docstring)."""
    name: ClassVar[str]
    higher_is_better: ClassVar[bool] = True
    scale: ClassVar[tuple[float, float]] = (1.0, 10.0)
    judge: ClassVar[JudgeFn]


def metric(cls):
    """Class decorator: register a Metric or JudgedMetric under its `name`."""
    METRICS.add(cls.name, cls)
    return cls


def is_judged(name: str) -> bool:
    return issubclass(METRICS.get(name), JudgedMetric)


def judge_groups(names: tuple[str, ...] | list[str]) -> dict[JudgeFn, list[str]]:
    """The judged metrics among `names`, grouped by the judge that computes them (in order)."""
    groups: dict[JudgeFn, list[str]] = {}
    for name in names:
        cls = METRICS.get(name)
        if issubclass(cls, JudgedMetric):
            groups.setdefault(cls.judge, []).append(name)
    return groups
