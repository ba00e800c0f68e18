"""Rows of scores.csv (model, seed, task, metric, sample_id, category, score, status, reason) from
lm-eval's ``simple_evaluate(..., log_samples=True)`` result.

* **per-sample rows** for every metric lm-eval logs as a number per document: exact_match, acc,
  bleu4, rougeL, ... ``sample_id`` is the document's ``id`` field, else lm-eval's ``doc_id``; so
  bootstrap CIs work exactly as for the run's own scores;
* **one corpus row** (``sample_id`` ``__corpus__``) for metrics with no per-sample number
  (lm-eval's corpus metrics such as ``bleu``, ``chrf``, ``ter``, ``f1`` log tuples per document):
  the aggregated value from lm-eval's results;
* a filter other than ``none`` is appended to the metric: ``exact_match@strict-match``.

``lm_eval_scores.csv`` accumulates over calls of ``harness lm-eval`` (a call replaces the rows of
the (model, seed, task) it evaluated, keeps the others) and each row names the ``checkpoint`` it
measured (its folder relative to the cache, as the run's manifest names checkpoints). The
leaderboard uses only rows whose checkpoint is the one the run's manifest names now
(``measured_now``): a method retrained under the same run name leaves its old lm-eval rows out,
with a note, instead of mixing them with the new checkpoint's scores.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np

from harness.manifest import RunManifest
from harness.run_tables import table

CORPUS_ID = "__corpus__"
LM_EVAL_COLUMNS = list(table("lm_eval_scores").columns)


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



def merge_rows(path: Path, new: list[dict]) -> list[dict]:
    """The rows of ``lm_eval_scores.csv`` after a call: the file's rows of every (model, seed,
    task) this call did not evaluate, then this call's rows."""
    done = {(str(r["model"]), str(r["seed"]), str(r["task"])) for r in new}
    old: list[dict] = []
    if path.is_file():
        with open(path, newline="", encoding="utf-8") as f:
            old = [r for r in csv.DictReader(f) if (r.get("model"), r.get("seed"), r.get("task")) not in done]
    return old + new


def current_checkpoints(manifest: RunManifest) -> dict[tuple[str, int], str] | None:
    """(leaderboard row, seed) -> the checkpoint the run's manifest names now (relative to its
    cache); None for a manifest that names none (written before it had a ``checkpoints`` field)."""
    if not manifest.checkpoints:
        return None
    rows = {name: (v.model, v.seed) for name, v in manifest.checkpoint_rows.items()}
    return {rows.get(name, (name, manifest.seeds.run)): path for name, path in manifest.checkpoints.items()}


def measured_now(scores, manifest: RunManifest):
    """(rows of ``lm_eval_scores.csv`` measured on the run's current checkpoints, without the
    ``checkpoint`` column; a leaderboard note on the rows left out, or None). ``scores``: the file
    read as a DataFrame that keeps its ``checkpoint`` column (absent or empty in files written
    before it existed: such rows are left out too, their checkpoint is unknown)."""
    current = current_checkpoints(manifest)
    if "checkpoint" not in scores.columns:
        scores = scores.assign(checkpoint="")
    if current is None:
        return scores.drop(columns="checkpoint"), None
    now = [current.get((str(m), int(s))) for m, s in zip(scores["model"], scores["seed"])]
    keep = [c is not None and str(c) == str(r) for c, r in zip(now, scores["checkpoint"].fillna(""))]
    stale = scores[[not k for k in keep]]
    if stale.empty:
        return scores.drop(columns="checkpoint").reset_index(drop=True), None
    which = sorted({f"{m} seed {s} ({t})" for m, s, t in zip(stale["model"], stale["seed"], stale["task"])})
    shown = ", ".join(which[:5]) + (f" and {len(which) - 5} more" if len(which) > 5 else "")
    note = (f"lm_eval_scores.csv: {len(stale)} rows left out, measured on another checkpoint than the run's "
            f"current one (or on one not recorded): {shown}; run `harness lm-eval` again for them")
    return scores[keep].drop(columns="checkpoint").reset_index(drop=True), note
