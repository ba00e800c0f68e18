"""Apply a task's metrics to its answers: one row per model x task x metric x sample."""
from __future__ import annotations

import math

from harness.errors import HarnessError
from harness.metrics import METRICS, is_judged
from harness.types import Sample, Task



def score_answers(task: Task, samples: list[Sample], answers: list[list[str]], model: str,
                  seed: int) -> list[dict]:
    """Rows of the task's metrics that need no judge (judged ones: harness.metrics.judge_groups)."""
    rows = []
    for name in task.metrics:
        if is_judged(name):
            continue
        metric = METRICS.get(name, field=f"task {task.name}.metrics")()
        by_id = {s.id: s for s in samples}
        for sc in metric.score(answers, samples):
            if sc.score is not None and not math.isfinite(sc.score):
                raise HarnessError(f"metric {name} gave a non-finite score for sample {sc.sample_id}")
            rows.append({"model": model, "seed": seed, "task": task.name, "metric": name,
                         "sample_id": sc.sample_id, "category": by_id[sc.sample_id].category,
                         "score": sc.score, "status": sc.status, "reason": sc.reason})
    return rows
