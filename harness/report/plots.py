"""Report figures: score bars with CI whiskers, MT-Bench category radars, log-prob dynamics.

Figures are drawn with matplotlib's object API on an Agg canvas (no pyplot), so no global
backend state is touched and it works headless and inside other processes. A figure whose data
is absent is skipped with a note explaining why; plotting never stops a report from being
written.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.report.load import RunData
from harness.store import safe_filename

if TYPE_CHECKING:
    from harness.report.tables import Leaderboard

DPI = 100
KIND_STYLE = {"near_miss": "-", "far_miss": "--", "all": ":"}



def _save(fig: Figure, path: Path) -> Path:
    """Render to a temp file and rename, so a plot on disk is always complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    FigureCanvasAgg(fig)
    try:
        fig.savefig(tmp, dpi=DPI, format="png")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def score_bars(lb: "Leaderboard", out_dir: Path) -> tuple[dict[str, Path], list[str]]:
    """One bar chart per value column: mean with CI whiskers, hatched when partial."""
    files, notes = {}, []
    for col in lb.value_columns:
        name = f"scores_{safe_filename(col.key.replace('/', '_'))}"
        status = lb.table[f"{col.key}:status"]
        keep = status.isin(["ok", "partial"]).to_numpy()
        if not keep.any():
            notes.append(f"plot {name}.png skipped: no scored samples for {col.key}")
            continue
        mean = lb.table[f"{col.key}:mean"].to_numpy()[keep]
        lo, hi = lb.table[f"{col.key}:lo"].to_numpy()[keep], lb.table[f"{col.key}:hi"].to_numpy()[keep]
        labels = list(lb.table["label"].to_numpy()[keep])
        partial = list(status.to_numpy()[keep] == "partial")
        fig = Figure(figsize=(max(4.0, 0.8 * len(labels) + 2), 3.2), layout="constrained")
        ax = fig.add_subplot()
        x = np.arange(len(labels))
        # a percentile interval need not contain the mean (few seeds, skewed scores): clip the bar
        bars = ax.bar(x, mean, yerr=np.clip(np.vstack([mean - lo, hi - mean]), 0, None), capsize=4,
                      color="#4c72b0", edgecolor="#333")
        for bar, is_partial in zip(bars, partial):
            if is_partial:
                bar.set_hatch("//")
                bar.set_alpha(0.6)
        ax.set_xticks(x, labels, rotation=30, ha="right")
        ax.set_ylabel(col.key)
        ax.set_title(f"{col.key} (95% bootstrap CI)" + (", hatched = partial" if any(partial)
                                                         else ""))
        files[name] = _save(fig, out_dir / f"{name}.png")
    return files, notes


def _categories(runs: list[RunData]) -> dict[tuple[str, str, str], str]:
    """(run, task, sample_id) -> category, from the optional scores.csv `category` column."""
    out = {}
    for run in runs:
        s = run.scores[run.scores["category"].astype(str).str.strip() != ""]
        for r in s[["task", "sample_id", "category"]].drop_duplicates().itertuples(False):
            out[(run.name, r.task, r.sample_id)] = str(r.category)
    return out


def category_radars(lb: "Leaderboard", runs: list[RunData],
                    out_dir: Path) -> tuple[dict[str, Path], list[str]]:
    """Per MT-Bench-like task (a `<family>_avg` column), one radar panel per model."""
    files, notes = {}, []
    cats = _categories(runs)
    for col in (c for c in lb.value_columns if len(c.metrics) > 1):
        name = f"radar_{safe_filename(col.key.replace('/', '_'))}"
        per_row = {}
        for i, row in enumerate(lb.row_keys):
            values = lb.cells[(i, col.key)].values
            labelled = {sid: v for sid, v in values.items()
                        if (row.run, col.task, sid) in cats}
            if labelled:
                keys = [cats[(row.run, col.task, sid)] for sid in labelled]
                per_row[row.label] = pd.Series(list(labelled.values())).groupby(keys).mean()
        axes_names = sorted({c for s in per_row.values() for c in s.index})
        if len(axes_names) < 3:
            why = "no per-sample category in scores.csv" if not axes_names else \
                f"only {len(axes_names)} categories (need 3)"
            notes.append(f"plot {name}.png skipped: {why} for {col.key}")
            continue
        angles = np.linspace(0, 2 * math.pi, len(axes_names), endpoint=False)
        ncols = min(4, len(per_row))
        nrows = math.ceil(len(per_row) / ncols)
        fig = Figure(figsize=(3.4 * ncols, 3.6 * nrows), layout="constrained")
        for k, (label, series) in enumerate(per_row.items()):
            ax = fig.add_subplot(nrows, ncols, k + 1, projection="polar")
            vals = series.reindex(axes_names).to_numpy(dtype=float)
            closed = np.append(vals, vals[0])
            ax.plot(np.append(angles, angles[0]), closed, color="#4c72b0")
            ax.fill(np.append(angles, angles[0]), np.nan_to_num(closed), alpha=0.25)
            ax.set_xticks(angles, axes_names, fontsize=7)
            ax.set_ylim(0, max(10.0, float(np.nanmax(vals))))
            ax.set_rlabel_position(360 / len(axes_names) / 2)
            ax.tick_params(axis="y", labelsize=6)
            ax.set_title(label, fontsize=9, pad=14)
        fig.suptitle(f"{col.key} by category")
        files[name] = _save(fig, out_dir / f"{name}.png")
    return files, notes


def logp_dynamics(lb: "Leaderboard", runs: list[RunData],
                  out_dir: Path) -> tuple[dict[str, Path], list[str]]:
    """Change since step 0 of log pi(chosen) (green) and log pi(rejected) (red), one panel per
    model.

    Changes, not levels: a far-miss rejected answer sits tens of nats below its chosen one, so
    levels would squeeze the near-miss curves (the case DPOP is about) into a few pixels. Line
    style encodes the pair kind (near_miss solid, far_miss dashed, all dotted). Seeds of one model
    are averaged per step.
    """
    frames = []
    labels = {(r.run, r.model): r.label for r in lb.row_keys}
    for run in runs:
        if run.dynamics is not None and not run.dynamics.empty:
            d = run.dynamics.copy()
            d["panel"] = [labels.get((run.name, m), m if len(runs) == 1 else f"{run.name}/{m}")
                          for m in d["model"]]
            frames.append(d)
    if not frames:
        return {}, ["plot logp_dynamics.png skipped: no dynamics.csv in any run"]
    dyn = pd.concat(frames, ignore_index=True)
    panels = list(pd.unique(dyn["panel"]))
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.2 * nrows), layout="constrained")
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        sub = dyn[dyn["panel"] == panel]
        for kind, g in sub.groupby("kind", sort=True):
            g = g.groupby("step")[["logp_chosen", "logp_rejected"]].mean().sort_index()
            g = g - g.iloc[0]
            style = KIND_STYLE.get(str(kind), "-.")
            ax.plot(g.index, g["logp_chosen"], style, color="#2a9d8f",
                    label=f"log π(chosen), {kind}")
            ax.plot(g.index, g["logp_rejected"], style, color="#e76f51",
                    label=f"log π(rejected), {kind}")
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("Δ log-prob since step 0")
        ax.axhline(0, color="#999999", linewidth=0.6)
        if k == 0:
            ax.legend(fontsize=8)
    files = {"logp_dynamics": _save(fig, out_dir / "logp_dynamics.png")}
    return files, []


def make_plots(lb: "Leaderboard", runs: list[RunData],
               out_dir: Path) -> tuple[dict[str, Path], list[str]]:
    """All figures into `out_dir`; returns {name: path} and notes on skipped figures."""
    files: dict[str, Path] = {}
    notes: list[str] = []
    for result in (score_bars(lb, out_dir), category_radars(lb, runs, out_dir),
                   logp_dynamics(lb, runs, out_dir)):
        files.update(result[0])
        notes += result[1]
    return files, notes
