"""Read a run directory (`scores.csv` and its optional companions) into validated DataFrames.

The report is the last stage of a long pipeline, so it must never fail late or silently: every
problem in `scores.csv` is reported up front as one HarnessError naming the file, the line and
the field, and a score that is not numeric is never coerced to 0. The optional companions
(`train_costs.csv`, `dynamics.csv`, `manifest.json`) only decorate the report, so a bad one is
dropped with a note instead of stopping the leaderboard from being written.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import pandas as pd

from harness.errors import HarnessError, redact
from harness.manifest import read_manifest
from harness.run_tables import table

SCORE_REQUIRED = ("model", "seed", "task", "metric", "sample_id", "score", "status")
SCORE_OPTIONAL = ("reason", "category")
STATUSES = ("ok", "error", "not_judged")
COST_REQUIRED = ("model", "seed", "wall_s", "tokens")
COST_OPTIONAL = ("steps", "global_batch", "budget")
COST_TEXT = ("chosen",)  # the grid point chosen on dev (harness.tuning), empty without a grid
DYN_REQUIRED = ("model", "step", "kind", "logp_chosen", "logp_rejected")
DYN_OPTIONAL = ("seed", "margin")


@dataclasses.dataclass
class RunData:
    """Everything the report needs from one `results/<run>/` directory."""

    name: str
    path: Path
    scores: pd.DataFrame
    costs: pd.DataFrame | None = None
    dynamics: pd.DataFrame | None = None
    notes: list[str] = dataclasses.field(default_factory=list)


def _read_rows(path: Path, required: tuple[str, ...],
               optional: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows as (line number, {column: raw text}); header and row shape are checked here.

    The csv module (not pandas) is used so a row's number is its real line in the file, even
    when a quoted `reason` spans several lines, which is what the user needs to fix it.
    """
    if not path.is_file():
        raise HarnessError("file not found", file=path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        if not header:
            raise HarnessError("empty file, expected a header row", file=path, row=1)
        for col in required:
            if col not in header:
                raise HarnessError(f"missing column (header is: {', '.join(header)})",
                                   file=path, row=1, field=col)
        wanted = [c for c in required + optional if c in header]
        pos = {c: header.index(c) for c in wanted}
        rows = []
        for rec in reader:
            if not any(x.strip() for x in rec):
                continue
            if len(rec) != len(header):
                raise HarnessError(f"expected {len(header)} fields, found {len(rec)}",
                                   file=path, row=reader.line_num)
            row = {c: rec[i].strip() for c, i in pos.items()}
            for c in optional:
                row.setdefault(c, "")
            rows.append((reader.line_num, row))
    return rows


def _number(text: str, path: Path, line: int, field: str, *, integer: bool = False) -> float:
    """Parse a finite number or raise a HarnessError pointing at the exact cell."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (integer and not value.is_integer()):
        kind = "an integer" if integer else "a finite number"
        raise HarnessError(f"expected {kind}, found {text!r}", file=path, row=line, field=field)
    return value


def _require_text(row: dict[str, str], cols: tuple[str, ...], path: Path, line: int) -> None:
    for col in cols:
        if not row[col]:
            raise HarnessError("empty value", file=path, row=line, field=col)


def read_scores(path: Path, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Validated scores: `score` is a float (NaN exactly when status is not "ok"); `extra`
    optional columns are kept as text."""
    path = Path(path)
    records = []
    for line, row in _read_rows(path, SCORE_REQUIRED, SCORE_OPTIONAL + extra):
        _require_text(row, ("model", "task", "metric", "sample_id", "status"), path, line)
        if row["status"] not in STATUSES:
            raise HarnessError(f"expected one of {', '.join(STATUSES)}, found {row['status']!r}",
                               file=path, row=line, field="status")
        row["seed"] = int(_number(row["seed"], path, line, "seed", integer=True))
        row["reason"] = redact(" ".join(row["reason"].split()))  # one line, no secrets
        if row["status"] == "ok":
            row["score"] = _number(row["score"], path, line, "score")
        else:
            row["score"] = math.nan
        records.append(row)
    df = pd.DataFrame.from_records(records, columns=list(SCORE_REQUIRED + SCORE_OPTIONAL + extra))
    df = df.astype({"seed": "int64", "score": "float64"})
    return df


def read_costs(path: Path) -> pd.DataFrame:
    """Validated training costs, one row per (model, seed); a repeated row replaces earlier ones."""
    path = Path(path)
    records = []
    for line, row in _read_rows(path, COST_REQUIRED, COST_OPTIONAL + COST_TEXT):
        _require_text(row, ("model",), path, line)
        row["seed"] = int(_number(row["seed"], path, line, "seed", integer=True))
        for col in ("wall_s", "tokens") + tuple(c for c in COST_OPTIONAL if row[c]):
            row[col] = _number(row[col], path, line, col)
        for col in COST_OPTIONAL:
            row[col] = row[col] if row[col] != "" else math.nan
        records.append(row)
    df = pd.DataFrame.from_records(records, columns=list(COST_REQUIRED + COST_OPTIONAL + COST_TEXT))
    return df.drop_duplicates(["model", "seed"], keep="last").reset_index(drop=True)


def read_dynamics(path: Path) -> pd.DataFrame:
    """Validated log-prob dynamics (seed defaults to 0, margin to chosen - rejected)."""
    path = Path(path)
    records = []
    for line, row in _read_rows(path, DYN_REQUIRED, DYN_OPTIONAL):
        _require_text(row, ("model", "kind"), path, line)
        row["seed"] = int(_number(row["seed"], path, line, "seed", integer=True)) \
            if row["seed"] else 0
        row["step"] = _number(row["step"], path, line, "step")
        for col in ("logp_chosen", "logp_rejected"):
            row[col] = _number(row[col], path, line, col)
        row["margin"] = _number(row["margin"], path, line, "margin") if row["margin"] \
            else row["logp_chosen"] - row["logp_rejected"]
        records.append(row)
    return pd.DataFrame.from_records(records, columns=list(DYN_REQUIRED + DYN_OPTIONAL))


def load_run(run_dir: Path) -> RunData:
    """Load one run directory; only a missing or bad `scores.csv` is fatal."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise HarnessError("run directory not found", file=run_dir)
    run = RunData(name=run_dir.name, path=run_dir, scores=read_scores(table("scores").path(run_dir)))
    manifest = None
    if (run_dir / "manifest.json").is_file():
        try:
            manifest = read_manifest(run_dir)
            run.name = manifest.run_name.strip() or run.name
        except HarnessError as exc:
            run.notes.append(f"{exc.one_line()} (run named after its directory instead)")
    extra = table("lm_eval_scores").path(run_dir)
    if extra.is_file():
        from harness.evaluate.lm_eval_rows import measured_now
        from harness.manifest import RunManifest
        lm, note = measured_now(read_scores(extra, extra=("checkpoint",)), manifest or RunManifest())
        run.scores = pd.concat([run.scores, lm], ignore_index=True)
        if note:
            run.notes.append(note)
    for attr, name, reader in (("costs", "train_costs", read_costs), ("dynamics", "dynamics", read_dynamics)):
        fpath = table(name).path(run_dir)
        fname = fpath.name
        if fpath.is_file():
            try:
                setattr(run, attr, reader(fpath))
            except HarnessError as exc:
                run.notes.append(f"{exc.one_line()} ({fname} ignored)")
    return run


#: config fields that may differ between runs merged into one (see merge_seed_runs)
SEED_ONLY_FIELDS = ("run_name", "seed", "seeds", "results_dir", "cache_dir")


def _config_sans_seed(run: RunData) -> str | None:
    try:
        config = read_manifest(run.path).config
    except HarnessError:
        return None
    if not config:  # a run of unknown config is merged with none
        return None
    return json.dumps({k: v for k, v in config.items() if k not in SEED_ONLY_FIELDS}, sort_keys=True)


def merge_seed_runs(runs: list[RunData]) -> list[RunData]:
    """Runs whose configs differ only in their seeds become one run (the first one's name), so
    each model is one row over all their seeds. A seed present in two runs keeps the later one."""
    groups: dict[str, list[RunData]] = {}
    out: list[RunData] = []
    for run in runs:
        key = _config_sans_seed(run)
        if key is None:
            out.append(run)
        elif key in groups:
            groups[key].append(run)
        else:
            groups[key] = [run]
            out.append(run)
    for members in groups.values():
        if len(members) == 1:
            continue
        first = members[0]
        first.scores = _concat([m.scores for m in members], ["model", "seed", "task", "metric", "sample_id"])
        first.costs = _concat([m.costs for m in members], ["model", "seed"])
        first.dynamics = _concat([m.dynamics for m in members], ["model", "seed", "step", "kind"])
        first.notes += [note for m in members[1:] for note in m.notes]
        first.notes.append(f"runs {', '.join(m.name for m in members)} differ only in seed: merged as "
                           f"{first.name}")
    return out


def _concat(frames: list[pd.DataFrame | None], key: list[str]) -> pd.DataFrame | None:
    present = [f for f in frames if f is not None]
    if not present:
        return None
    merged = pd.concat(present, ignore_index=True)
    return merged.drop_duplicates([k for k in key if k in merged.columns], keep="last").reset_index(drop=True)


def load_runs(run_dirs: list[Path]) -> list[RunData]:
    """Load several runs, merging those that differ only in seed and making run names unique so
    merged rows stay distinguishable."""
    runs = merge_seed_runs([load_run(Path(d)) for d in run_dirs])
    seen: dict[str, int] = {}
    for run in runs:
        count = seen.get(run.name, 0) + 1
        seen[run.name] = count
        if count > 1:
            run.notes.append(f"run name {run.name!r} used twice; this one is {run.name}#{count}")
            run.name = f"{run.name}#{count}"
    return runs
