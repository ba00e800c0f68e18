"""Rows of scores.csv (model, seed, task, metric, sample_id, category, score, status, reason) from
lm-eval's ``simple_evaluate(..., log_samples=True)`` result.

* **per-sample rows** for every metric lm-eval logs as a number per document: exact_match, acc,
  bleu4, rougeL, ... ``sample_id`` is the document's ``id`` field, else lm-eval's ``doc_id``; so
  bootstrap CIs work exactly as for the run's own scores;
* **one corpus row** (``sample_id`` ``__corpus__``) for metrics with no per-sample number
  (lm-eval's corpus metrics such as ``bleu``, ``chrf``, ``ter``, ``f1`` log tuples per document):
  the aggregated value from lm-eval's results;
* a filter other than ``none`` is appended to the metric: ``exact_match@strict-match``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

CORPUS_ID = "__corpus__"


def _as_float(value: Any) -> float | None:
    """A logged number (bool, int, float or numpy scalar) as a float; None for anything else
    (a corpus metric's per-document tuple, "N/A")."""
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, np.generic) and np.ndim(value) == 0 and np.issubdtype(type(value), np.number):
        return float(value)
    return None


def _metric_name(metric: str, filter_key: str) -> str:
    return metric if filter_key in ("none", "", None) else f"{metric}@{filter_key}"


def rows_from_results(results: dict, model: str, seed: int) -> list[dict]:
    """CSV rows (SCORE_COLUMNS) from a ``simple_evaluate(..., log_samples=True)`` result."""
    rows: list[dict] = []
    per_sample: set[tuple[str, str]] = set()
    for task, samples in (results.get("samples") or {}).items():
        for s in samples:
            doc = s.get("doc") if isinstance(s.get("doc"), dict) else {}
            sid = str(doc.get("id", s.get("doc_id")))
            category = str(doc.get("category", "") or "")
            for metric in s.get("metrics", []):
                value = _as_float(s.get(metric))
                if value is None:
                    continue  # a corpus metric's per-document item: reported once below
                name = _metric_name(metric, s.get("filter", "none"))
                per_sample.add((task, name))
                ok = math.isfinite(value)
                rows.append({"model": model, "seed": seed, "task": task, "metric": name,
                             "sample_id": sid, "category": category,
                             "score": value if ok else None, "status": "ok" if ok else "error",
                             "reason": "" if ok else f"non-finite value {value!r}"})
    for task, values in (results.get("results") or {}).items():
        for key, value in values.items():
            if "," not in key or "_stderr," in key:
                continue
            metric, _, filter_key = key.partition(",")
            name = _metric_name(metric, filter_key)
            if (task, name) in per_sample:
                continue
            num = _as_float(value)
            if num is None:
                continue  # "N/A" or a non-numeric entry
            ok = math.isfinite(num)
            rows.append({"model": model, "seed": seed, "task": task, "metric": name,
                         "sample_id": CORPUS_ID, "category": "", "score": num if ok else None,
                         "status": "ok" if ok else "error",
                         "reason": "corpus-level metric" if ok else f"non-finite value {num!r}"})
    return rows

