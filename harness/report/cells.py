"""Leaderboard cells: which rows and columns exist, and the scored samples behind each cell.

A cell is computed only from samples whose status is "ok"; every other expected sample is
counted with its status and reason, so the report can say exactly what is missing and why
instead of turning a failed judge call or a crashed generation into a silent 0.
"""
from __future__ import annotations

import dataclasses
import re
from collections import Counter

import numpy as np
import pandas as pd

from harness.report.load import RunData

_TURN = re.compile(r"^(?P<family>.+)_turn(?P<turn>\d+)$")


@dataclasses.dataclass(frozen=True)
class Column:
    """A leaderboard value column: one metric, or the per-question mean of MT-Bench turns."""

    key: str
    task: str
    metrics: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class RowKey:
    """One leaderboard row: a model of a run, over every training seed it was run with."""

    run: str
    model: str
    seeds: tuple[int, ...]
    label: str


@dataclasses.dataclass
class Cell:
    """The ok scores of one row x column and why the other samples are absent.

    `values`: per sample id, the mean over seeds of the samples scored ok under every seed;
    `per_seed`: each seed's scores of those same ids (one row of the seeds x samples matrix that
    the CI resamples); `seed_means`: each seed's mean over all its own ok samples."""

    values: pd.Series
    problems: Counter
    expected: int
    per_seed: dict[int, pd.Series] = dataclasses.field(default_factory=dict)
    seed_means: dict[int, float] = dataclasses.field(default_factory=dict)

    @property
    def matrix(self) -> np.ndarray:
        """Seeds x samples, columns in the order of `values` (a cell from combine_seeds)."""
        return np.array([s.loc[self.values.index].to_numpy() for s in self.per_seed.values()])

    @property
    def status(self) -> str:
        if len(self.values) == 0:
            judged = {status for status, _ in self.problems}
            return "not_judged" if judged == {"not_judged"} else "missing"
        return "partial" if sum(self.problems.values()) else "ok"

    @property
    def reason(self) -> str:
        """The not-judged reason for not_judged cells, else a summary of what is missing."""
        if self.status == "not_judged":
            return self.problems.most_common(1)[0][0][1] or "no reason given"
        parts = []
        for (status, reason), count in self.problems.most_common():
            label = {"absent": "no score row", "not_judged": "not judged"}.get(status, status)
            text = f"{label}: {reason[:100]}" if reason and status != "absent" else label
            parts.append(f"{text} x{count}")
        return "; ".join(parts)


def model_labels(runs: list[RunData]) -> dict[tuple[str, str], str]:
    """(run, model) -> display name; prefixed by the run name only when models clash."""
    owners: dict[str, set[str]] = {}
    for run in runs:
        for model in pd.unique(run.scores["model"]):
            owners.setdefault(model, set()).add(run.name)
    return {(run, model): (f"{run}/{model}" if len(names) > 1 else model)
            for model, names in owners.items() for run in names}


def columns_of(runs: list[RunData]) -> list[Column]:
    """Value columns in order of first appearance; an MT-Bench average follows its last turn."""
    metrics: dict[str, list[str]] = {}
    for run in runs:
        for task, metric in run.scores[["task", "metric"]].drop_duplicates().itertuples(False):
            if metric not in metrics.setdefault(task, []):
                metrics[task].append(metric)
    columns = []
    for task, names in metrics.items():
        families: dict[str, list[str]] = {}
        for m in names:
            if (match := _TURN.match(m)):
                families.setdefault(match["family"], []).append(m)
        for m in names:
            columns.append(Column(f"{task}/{m}", task, (m,)))
            match = _TURN.match(m)
            turns = families.get(match["family"], []) if match else []
            if len(turns) > 1 and m == turns[-1]:
                order = sorted(turns, key=lambda t: int(_TURN.match(t)["turn"]))
                columns.append(Column(f"{task}/{match['family']}_avg", task, tuple(order)))
    return columns


def cell_for(groups: dict[tuple[str, str], pd.DataFrame], col: Column,
             expected: set[str]) -> Cell:
    """Per sample: the mean of the column's metrics if all are ok, else the first problem."""
    frames = []
    ids = set(expected)
    for metric in col.metrics:
        g = groups.get((col.task, metric))
        if g is None:
            frames.append({})
            continue
        g = g.drop_duplicates("sample_id", keep="last")
        frames.append(g.set_index("sample_id")[["score", "status", "reason"]].to_dict("index"))
        ids.update(g["sample_id"])
    values: dict[str, float] = {}
    problems: Counter = Counter()
    for sid in sorted(ids):
        scores, problem = [], None
        for frame in frames:
            rec = frame.get(sid)
            if rec is None:
                problem = problem or ("absent", "")
            elif rec["status"] != "ok":
                problem = problem or (rec["status"], rec["reason"])
            else:
                scores.append(rec["score"])
        if problem is None:
            values[sid] = float(np.mean(scores))
        else:
            problems[problem] += 1
    return Cell(pd.Series(values, dtype=float), problems, len(ids))


def combine_seeds(per_seed: dict[int, Cell]) -> Cell:
    """One cell from a row's per-seed cells: the samples scored ok under every seed (a sample
    missing under one seed is counted among that seed's problems). With one seed, its cell."""
    ids = sorted(set.intersection(*(set(c.values.index) for c in per_seed.values())), key=str)
    matrix = {seed: c.values.loc[ids] for seed, c in per_seed.items()}
    values = pd.Series(np.mean([m.to_numpy() for m in matrix.values()], axis=0) if ids else [],
                       index=ids, dtype=float)
    problems: Counter = sum((c.problems for c in per_seed.values()), Counter())
    return Cell(values, problems, sum(c.expected for c in per_seed.values()), matrix,
                {seed: float(c.values.mean()) if len(c.values) else float("nan")
                 for seed, c in per_seed.items()})


def rows_of(runs: list[RunData]) -> list[RowKey]:
    labels = model_labels(runs)
    rows = []
    for run in runs:
        for model in pd.unique(run.scores["model"]):
            seeds = tuple(int(s) for s in sorted(pd.unique(run.scores.loc[run.scores["model"] == model, "seed"])))
            rows.append(RowKey(run.name, model, seeds, labels[(run.name, model)]))
    return rows
