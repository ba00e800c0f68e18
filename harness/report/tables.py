"""The leaderboard: one row per model, CIs per task x metric, over every seed the model has.

Design choices, and why:
* A cell uses only samples whose status is "ok" (see cells.py); everything else is counted and
  explained in a note, so a failed judge or a crashed generation shows up as "missing" /
  "not judged" instead of silently becoming a 0 that drags a model down the ranking.
* The expected sample set of a task is the union of its sample ids across all models of the
  run, so a model that simply has fewer rows (a generation that died half-way) is flagged too.
* MT-Bench turn metrics (`<family>_turn<k>`) also get a per-question average column, because
  the question is the unit sampled from the benchmark (see bootstrap.per_question_average).
* A model trained under several seeds is one row: the mean over seeds, a CI that resamples
  seeds and samples (bootstrap.crossed_bootstrap_means), the spread of the per-seed means
  (`:seed_sd`), and each seed's own mean in `seeds_table` (leaderboard_seeds.csv). Runs that
  differ only in seed merge into one row (same run name, same model).
* Models from several runs are merged; a model name used by more than one run is prefixed with
  its run name so the rows stay distinguishable.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from harness.manifest import read_manifest
from harness.report import render
from harness.report.bootstrap import DEFAULT_RESAMPLES, crossed_ci, paired_differences
from harness.report.cells import Column, RowKey, cell_for, columns_of, combine_seeds, rows_of
from harness.report.load import RunData, load_runs
from harness.store import atomic_write_text

COST_COLUMNS = ("train:wall_s", "train:tokens", "train:global_batch", "train:budget")
ALPHA = 0.05


@dataclasses.dataclass
class Leaderboard:
    """The leaderboard and what renderers need beside it.

    `table` columns: run, model, seeds ("0,1,2"), label, then
    `<task>/<metric>:{mean,lo,hi,n,seed_sd,status,reason}` per value column, then
    `train:wall_s`, `train:tokens`, `train:global_batch` (means over seeds; `train:budget`, the
    grid points tried, in a tuned run) when any run has train_costs.csv. `seeds_table`: one row
    per model x seed with each column's mean. `cells[(row index, column key)]` holds each cell's
    per-seed samples, from which the CIs and the comparisons were drawn.
    """

    table: pd.DataFrame
    notes: list[str]
    comparisons: pd.DataFrame
    baseline: str | None
    value_columns: list[Column]
    cost_columns: list[str]
    cells: dict
    row_keys: list[RowKey]
    seeds_table: pd.DataFrame


def _cell_notes(rows: list[RowKey], columns: list[Column], cells: dict) -> list[str]:
    """One line per incomplete cell; not-judged cells grouped so each reason appears once."""
    notes, not_judged = [], {}
    for i, row in enumerate(rows):
        for col in columns:
            cell = cells[(i, col.key)]
            if cell.status == "not_judged":
                not_judged.setdefault(cell.reason, []).append(f"{col.key} for {row.label}")
            elif cell.expected == 0:
                notes.append(f"{col.key} for {row.label}: no scores "
                             f"(task {col.task} not in run {row.run})")
            elif cell.status != "ok":
                missing = sum(cell.problems.values())
                notes.append(f"{col.key} for {row.label}: {missing} of {cell.expected} samples "
                             f"missing ({cell.reason})")
    for reason, where in not_judged.items():
        notes.append(f"not judged: {reason} ({_compress(where, rows, columns)})")
    return notes


def _compress(where: list[str], rows: list[RowKey], columns: list[Column]) -> str:
    """'col for a, col for b, ...' -> 'col (all models)' where every row of a column is listed."""
    out = []
    for col in columns:
        hits = [w for w in where if w.startswith(f"{col.key} for ")]
        if not hits:
            continue
        out += [f"{col.key} (all models)"] if len(hits) == len(rows) else hits
    return ", ".join(out)


def _comparisons(rows: list[RowKey], columns: list[Column], cells: dict, baseline: str,
                 seed: int, n_resamples: int) -> tuple[pd.DataFrame, list[str]]:
    """Each non-baseline row vs the baseline row (of the same run where there is one), paired by
    sample and by seed: seed s against the baseline's seed s, or against its only seed when the
    baseline has one (the base checkpoint)."""
    base_rows = [i for i, r in enumerate(rows) if baseline in (r.label, r.model)]
    if not base_rows:
        known = ", ".join(r.label for r in rows)
        return pd.DataFrame(), [f"baseline {baseline!r} not found among models ({known}); "
                                "paired comparisons skipped"]
    records, notes = [], []
    for col in columns:
        if not any(len(cells[(i, col.key)].values) for i in range(len(rows))):
            notes.append(f"paired {col.key}: skipped, no model has a scored sample")
            continue
        for i, row in enumerate(rows):
            if i in base_rows:
                continue
            b = max(base_rows, key=lambda j: rows[j].run == row.run)
            d, pairing = _paired_matrix(cells[(i, col.key)], cells[(b, col.key)])
            res = paired_differences(d, n_resamples, seed)
            verdict = "missing" if res.n == 0 else \
                ("supported" if res.supported(ALPHA) else "not supported")
            if res.n == 0:
                notes.append(f"paired {col.key}: {row.label} vs {rows[b].label}: "
                             f"no sample scored for both{pairing}")
            records.append({"metric": col.key, "model": row.label, "baseline": rows[b].label,
                            "seeds": len(d) if res.n else 0, "n": res.n, "diff": res.diff,
                            "lo": res.lo, "hi": res.hi, "p_value": res.p_value, "verdict": verdict})
    return pd.DataFrame.from_records(records), notes


def _paired_matrix(cell, base) -> tuple[np.ndarray, str]:
    """(seeds x samples) differences on the samples both cells scored under every seed used."""
    if len(base.per_seed) == 1:
        (base_scores,) = base.per_seed.values()
        pairs = [(cell.per_seed[s], base_scores) for s in cell.per_seed]
    else:
        pairs = [(cell.per_seed[s], base.per_seed[s]) for s in cell.per_seed if s in base.per_seed]
    if not pairs:
        return np.empty((0, 0)), " (no seed in common)"
    ids = sorted(set.intersection(*(set(a.index) & set(b.index) for a, b in pairs)), key=str)
    return np.array([a.loc[ids].to_numpy() - b.loc[ids].to_numpy() for a, b in pairs]), ""


def _costs(run: RunData, row: RowKey, notes: list[str]) -> dict[str, float]:
    out = dict.fromkeys(COST_COLUMNS, float("nan"))
    if run.costs is None:
        return out
    hit = run.costs[(run.costs["model"] == row.model) & run.costs["seed"].isin(row.seeds)]
    if hit.empty:
        notes.append(f"train cost for {row.label}: no row in {run.name}/train_costs.csv")
    else:  # load_runs keeps the last row per (model, seed); the mean is over seeds
        out.update({"train:wall_s": hit["wall_s"].mean(), "train:tokens": hit["tokens"].mean(),
                    "train:global_batch": hit["global_batch"].mean(), "train:budget": hit["budget"].max()})
        chosen = [c for c in hit["chosen"] if c]
        if chosen:
            notes.append(f"{row.label}: grid point {chosen[0]} chosen on dev of {hit['budget'].max():.0f} tried")
    return out


def _budget_note(records: list[dict]) -> list[str]:
    """Methods tuned with different numbers of grid points are not compared on equal terms: say so."""
    budgets = {r["label"]: r["train:budget"] for r in records if not pd.isna(r.get("train:budget", float("nan")))}
    if len(set(budgets.values())) <= 1:
        return []
    return ["tuning budgets differ (grid points tried): " + ", ".join(f"{k} {v:.0f}" for k, v in budgets.items())]


def _tuned(runs: list[RunData]) -> bool:
    return any(run.costs is not None and run.costs["budget"].notna().any() for run in runs)


def leaderboard_from_runs(runs: list[RunData], baseline: str | None = None, seed: int = 0,
                          n_resamples: int = DEFAULT_RESAMPLES) -> Leaderboard:
    """Build the leaderboard from already loaded runs (see build_leaderboard)."""
    by_name = {run.name: run for run in runs}
    rows, columns = rows_of(runs), columns_of(runs)
    expected = {(run.name, task): set(g["sample_id"])
                for run in runs for task, g in run.scores.groupby("task", sort=False)}
    # rows come from scores: a run without tasks has none, and no cost cells either
    has_costs, tuned = bool(rows) and any(run.costs is not None for run in runs), _tuned(runs)
    cost_columns = [c for c in COST_COLUMNS if has_costs and (c != "train:budget" or tuned)]
    notes = [f"{run.name}: {note}" for run in runs for note in run.notes]
    cost_notes: list[str] = []
    cells, records, seed_records = {}, [], []
    for i, row in enumerate(rows):
        s = by_name[row.run].scores
        by_seed = {seed: {key: g for key, g in s[(s["model"] == row.model) & (s["seed"] == seed)]
                          .groupby(["task", "metric"], sort=False)} for seed in row.seeds}
        rec: dict[str, object] = {"run": row.run, "model": row.model,
                                  "seeds": ",".join(map(str, row.seeds)), "label": row.label}
        seed_recs = {seed: {"run": row.run, "model": row.model, "seed": seed, "label": row.label}
                     for seed in row.seeds}
        for col in columns:
            want = expected.get((row.run, col.task), set())
            cell = combine_seeds({seed: cell_for(groups, col, want) for seed, groups in by_seed.items()})
            cells[(i, col.key)] = cell
            ci = crossed_ci(cell.matrix, n_resamples, seed)
            spread = np.std(list(cell.seed_means.values()), ddof=1) if len(row.seeds) > 1 else float("nan")
            rec.update({f"{col.key}:mean": ci.mean, f"{col.key}:lo": ci.lo,
                        f"{col.key}:hi": ci.hi, f"{col.key}:n": ci.n, f"{col.key}:seed_sd": spread,
                        f"{col.key}:status": cell.status,
                        f"{col.key}:reason": cell.reason if cell.status != "ok" else ""})
            for seed_, mean in cell.seed_means.items():
                seed_recs[seed_][f"{col.key}:mean"] = mean
        if has_costs:
            costs = _costs(by_name[row.run], row, cost_notes)
            rec.update({k: costs[k] for k in cost_columns})
        records.append(rec)
        seed_records += seed_recs.values()
    table = pd.DataFrame.from_records(records, columns=["run", "model", "seeds", "label"] if not records else None)
    notes += [f"{run.name}: scores.csv has no rows" for run in runs if run.scores.empty]
    notes += _cell_notes(rows, columns, cells) + cost_notes + _budget_note(records)
    comparisons = pd.DataFrame()
    if baseline:
        comparisons, cmp_notes = _comparisons(rows, columns, cells, baseline, seed, n_resamples)
        notes += cmp_notes
    return Leaderboard(table, notes, comparisons, baseline, columns, cost_columns, cells, rows,
                       pd.DataFrame.from_records(seed_records))


def build_leaderboard(run_dirs: list[Path], baseline: str | None = None,
                      seed: int = 0) -> Leaderboard:
    """Load `results/<run>/` directories and build the merged leaderboard.

    `baseline` (a model name or row label) enables the paired comparisons; `seed` seeds every
    bootstrap so the same inputs always give the same table.
    """
    return leaderboard_from_runs(load_runs([Path(d) for d in run_dirs]), baseline, seed)


def run_summary(run_dir: Path) -> str:
    """One line saying what a run ran on, from its manifest (config, machine, versions). Not its wall
    time: that of the invocation that wrote the tables (10 s for a cached rerun) would make a
    reproduced table differ; manifest.json keeps every invocation's."""
    try:
        m = read_manifest(run_dir)
    except HarnessError as exc:
        return f"run {run_dir.name}: {exc.one_line()}"
    hw, pk = m.hardware, m.packages
    device = hw.get("gpu") or f"{hw.get('cpu_count', '?')} CPU cores, no GPU"
    versions = ", ".join(f"{k} {pk[k]}" for k in ("torch", "trl", "vllm") if k in pk)
    from harness.train.pairs import pairs_lines
    dropped = pairs_lines(m.training.values())
    return (f"run {m.run_name}: config {m.config_file or '-'}; {device}, "
            f"{hw.get('mem_gib', '?')} GiB RAM; {versions}"
            + "".join(f"; {line}" for line in dropped))


def write_reports(run_dirs: list[Path], out_dir: Path, baseline: str | None = None, *,
                  seed: int = 0, plots: bool = True) -> dict[str, Path]:
    """Write leaderboard.{md,csv,tex,html} (+ comparisons.csv, plots/*.png) into `out_dir`.

    Returns {"md", "csv", "tex", "html", ["comparisons"], "plot:<name>"...} -> path. Each file
    is written atomically, so a report is either the old one or the new one, never half.
    """
    from harness.report import plots as plotting  # matplotlib is imported only when plotting

    runs = load_runs([Path(d) for d in run_dirs])
    lb = leaderboard_from_runs(runs, baseline, seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images: dict[str, Path] = {}
    plot_notes: list[str] = []
    if plots:
        images, plot_notes = plotting.make_plots(lb, runs, out_dir / "plots")
    notes = [run_summary(run.path) for run in runs if (run.path / "manifest.json").exists()]
    notes += list(lb.notes) + plot_notes
    title = "Leaderboard: " + ", ".join(run.name for run in runs)
    files = {"md": out_dir / "leaderboard.md", "csv": out_dir / "leaderboard.csv",
             "seeds": out_dir / "leaderboard_seeds.csv",
             "tex": out_dir / "leaderboard.tex", "html": out_dir / "leaderboard.html"}
    atomic_write_text(files["csv"], lb.table.to_csv(index=False))
    atomic_write_text(files["seeds"], lb.seeds_table.to_csv(index=False))
    atomic_write_text(files["md"], render.to_markdown(lb, notes, title))
    atomic_write_text(files["tex"], render.to_latex(lb, notes))
    atomic_write_text(files["html"], render.to_html(lb, notes, title, images))
    if len(runs) == 1 and (runs[0].path / "manifest.json").exists():  # runs differing only in seed: one
        from harness.report.findings import findings, read_pairs, to_markdown as findings_markdown
        items = findings(read_manifest(runs[0].path), read_pairs(run_dirs), lb.comparisons, seed=seed)
        files["findings"] = out_dir / "findings.md"
        atomic_write_text(files["findings"], findings_markdown(items, runs[0].name))
    if not lb.comparisons.empty:
        files["comparisons"] = out_dir / "comparisons.csv"
        atomic_write_text(files["comparisons"], lb.comparisons.to_csv(index=False))
    files.update({f"plot:{name}": path for name, path in images.items()})
    return files
