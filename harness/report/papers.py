"""A run's results laid out like the ASFT and DPOP papers' comparisons, beside published figures.

Published figures live in `published/*.yaml`, each with its source exactly as the project's paper notes (papers.md)
cites it. Where the source material had no number, the cell says so ("published: not available",
or a quoted qualitative statement) and no number is made up. The ASFT paper's results tables were
not found at all, so every published ASFT cell is "published: not available".

Run cells come from the leaderboard machinery (tables.leaderboard_from_runs), so they agree with
leaderboard.md: mean [95% bootstrap CI], "not judged" for an unjudged MT-Bench, "missing" for a
model without scores, and "not in this run" for a task or method the run did not have.
"""
from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import pandas as pd
import yaml

from harness.errors import HarnessError
from harness.manifest import RunManifest, read_manifest
from harness.run_tables import table
from harness.report import render
from harness.report.load import load_run
from harness.report.tables import Leaderboard, leaderboard_from_runs
from harness.store import atomic_write_text

PUBLISHED_DIR = Path(__file__).resolve().parent / "published"
NOT_AVAILABLE = "published: not available"
NOT_IN_RUN = "not in this run"
NOT_JUDGED = "not judged"
ASFT_GROUPS = {"UltraFeedback": "ultrafeedback_gen", "HH-RLHF": "hh_rlhf_gen"}
ASFT_METRICS = {"MT-Bench": "mt_bench", "BLEU-4": "bleu4", "ROUGE-L": "rougeL"}
MT_BENCH_KEYS = ("mt_bench/mt_bench_avg", "mt_bench/mt_bench_turn1",
                 "mt_bench/mt_bench_pairwise_avg", "mt_bench/mt_bench_pairwise_turn1")
KIND_LABEL = {"near_miss": "near-miss", "far_miss": "far-miss"}


@dataclasses.dataclass
class PaperTable:
    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = dataclasses.field(default_factory=list)
    left: int = 1  # leading text columns (left-aligned)


def load_published(name: str) -> dict:
    """One published-figures file (without .yaml); every file must name its source and a note."""
    path = PUBLISHED_DIR / f"{name}.yaml"
    if not path.is_file():
        raise HarnessError("published-figures file not found", file=path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in ("id", "paper", "source", "note"):
        if not isinstance(data, dict) or not str(data.get(key) or "").strip():
            raise HarnessError("missing or empty", file=path, field=key)
    return data


# ------------------------------------------------------------------------------------ runs
@dataclasses.dataclass
class RunView:
    """One run directory: its leaderboard, token log-probs and manifest, looked up by row label."""

    path: Path
    name: str
    manifest: RunManifest | None
    lb: Leaderboard
    token_logps: pd.DataFrame | None
    notes: list[str]

    @property
    def config(self) -> dict:
        return self.manifest.config if self.manifest else {}

    @property
    def kinds(self) -> tuple[str, ...] | None:
        kinds = ((self.config.get("data") or {}).get("synthetic") or {}).get("kinds")
        return tuple(kinds) if kinds is not None else None

    @property
    def labels(self) -> list[str]:
        return list(self.lb.table["label"]) if len(self.lb.table) else []

    def method_of(self, label: str) -> str:
        """The method name behind a row label (labels may differ from names); 'base' stays."""
        for m in self.config.get("methods") or []:
            if (m.get("label") or m.get("name")) == label:
                return str(m.get("name"))
        return label

    def has_column(self, key: str) -> bool:
        return any(c.key == key for c in self.lb.value_columns)

    def cell(self, label: str, key: str) -> str:
        if not self.has_column(key) or label not in self.labels:
            return NOT_IN_RUN
        i = self.labels.index(label)
        status = self.lb.table[f"{key}:status"].iloc[i]
        if status == "not_judged":
            return NOT_JUDGED
        if status not in ("ok", "partial"):
            return "missing"
        d = render.digits(self.lb, key)
        mean, lo, hi = (self.lb.table[f"{key}:{s}"].iloc[i] for s in ("mean", "lo", "hi"))
        return f"{mean:.{d}f} [{lo:.{d}f}, {hi:.{d}f}]" + ("*" if status == "partial" else "")

    def describe(self) -> str:
        pref = [f"{p.get('loader')}:{Path(str(p.get('path'))).name}"
                for p in (self.config.get("data") or {}).get("preference_extra") or []]
        kinds = {None: "synthetic pairs of unknown kinds", (): "no synthetic pairs"}.get(
            self.kinds, f"synthetic {'+'.join(self.kinds or ())} pairs")
        data = ", ".join([kinds] + pref)
        where = _short(self.path)
        cfg = self.manifest.config_file if self.manifest else None
        return f"{self.name} ({where}{'; config ' + cfg if cfg else ''}; preference data: {data})"


def _short(path: Path) -> str:
    rel = os.path.relpath(Path(path).resolve())
    return rel if not rel.startswith("..") else str(Path(path).resolve())


def read_token_logps(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"model": str, "kind": str})
    need = {"model", "kind", "n", "logp_after_first_diff"}
    if not need <= set(df.columns):
        raise HarnessError(f"missing columns {sorted(need - set(df.columns))}", file=path, row=1)
    return df


def load_view(run_dir: str | Path) -> RunView:
    run = load_run(Path(run_dir))
    manifest, notes = None, list(run.notes)
    if (Path(run_dir) / "manifest.json").is_file():
        manifest = read_manifest(Path(run_dir))
    tok = None
    if (path := table("token_logps").path(run_dir)).is_file():
        try:
            tok = read_token_logps(path)
        except (HarnessError, ValueError, pd.errors.ParserError) as exc:
            notes.append(f"{run.name}: token_logps.csv ignored ({exc})")
    return RunView(Path(run_dir), run.name, manifest, leaderboard_from_runs([run]), tok, notes)


# ---------------------------------------------------------------------------------- tables
def asft_table(uf: RunView | None, hh: RunView | None) -> PaperTable:
    """Methods x {MT-Bench, BLEU-4, ROUGE-L} x {UltraFeedback, HH-RLHF}; each method's run row
    above the ASFT paper's row, whose every cell is "published: not available"."""
    pub = load_published("asft_layout")
    groups = {"UltraFeedback": uf, "HH-RLHF": hh}
    header = ["method", "source"] + [f"{g}: {m}" for g in groups for m in ASFT_METRICS]
    views = [v for v in (uf, hh) if v is not None]
    labels = list(dict.fromkeys(lab for v in views for lab in v.labels))
    by_method = {v.method_of(lab): lab for v in views for lab in reversed(v.labels)}
    labels += [m.lower() for m in pub["methods"] if m.lower() not in by_method]
    rows = []
    for label in labels:
        run_row = [label, "this run"]
        for group, view in groups.items():
            for metric, name in ASFT_METRICS.items():
                if view is None:
                    run_row.append(NOT_IN_RUN)
                elif name == "mt_bench":
                    key = next((k for k in MT_BENCH_KEYS if view.has_column(k)), MT_BENCH_KEYS[0])
                    run_row.append(view.cell(label, key))
                else:
                    run_row.append(view.cell(label, f"{ASFT_GROUPS[group]}/{name}"))
        rows += [run_row, [label, "ASFT paper"] + [pub["cell"]] * (len(header) - 2)]
    notes = [f"Published: {pub['paper']}; source {pub['source']}. {pub['note']}",
             "Run columns: <group> BLEU-4/ROUGE-L from the task ultrafeedback_gen / hh_rlhf_gen "
             "(0-100, vs the chosen answer); MT-Bench from the task mt_bench (1-10, per-question "
             "mean of the judged turns). Cells: mean [95% bootstrap CI]; * = some samples missing."]
    for group, view in groups.items():
        notes.append(f"{group} columns from run " + (view.describe() if view else "(none given)"))
    if uf is not None and hh is not None and uf.path.resolve() == hh.path.resolve():
        notes.append("One run fills both groups, so both MT-Bench columns show the same scores. "
                     "The paper trains once per data set: pass --uf RUN and --hh RUN to compare.")
    return PaperTable("ASFT comparison layout (Wang et al. 2024, arXiv 2409.10571)", header, rows,
                      notes, left=2)


def classify(main: RunView, near: RunView | None, far: RunView | None) -> dict[str, RunView]:
    """Which run is the near-miss-trained, far-miss-trained and both-kinds one."""
    out: dict[str, RunView] = {}
    for kind, given in (("near_miss", near), ("far_miss", far)):
        if given is not None:
            out[kind] = given
        elif main.kinds == (kind,):
            out[kind] = main
    if main not in out.values():
        out["both"] = main
    return out


def dpop_accuracy_table(main: RunView, near: RunView | None = None,
                        far: RunView | None = None) -> PaperTable:
    """Exact-match accuracy after training on near-miss vs far-miss pairs, beside DPOP Fig. 2."""
    pub = load_published("dpop_fig2_qualitative")
    runs = classify(main, near, far)
    cols = {"near_miss": runs.get("near_miss"), "far_miss": runs.get("far_miss")}
    if "both" in runs:
        cols["both"] = runs["both"]
    views = [v for v in cols.values() if v is not None]
    labels = list(dict.fromkeys(lab for v in views for lab in v.labels))
    methods = {v.method_of(lab) for v in views for lab in v.labels}
    labels += [m for m in pub["statements"] if m not in methods]
    header = ["method"]
    for kind, view in cols.items():
        other = {None: "kinds unknown", (): "no synthetic pairs"}
        what = f"trained on {KIND_LABEL[kind]} pairs" if kind != "both" else \
            other.get(view.kinds, "trained on both kinds")
        header.append(what + (f" ({view.name})" if view else ""))
    header += [f"published, {d['name']} ({KIND_LABEL[k]}-like)" for k, d in pub["datasets"].items()]
    rows = []
    for label in labels:
        row = [label]
        for view in cols.values():
            row.append(view.cell(label, "synthetic_arith/exact_match") if view else NOT_IN_RUN)
        method = next((v.method_of(label) for v in views if label in v.labels), label)
        said = pub["statements"].get(method, {})
        row += [f'"{said[k]}" (no number published)' if said.get(k) and said[k] != "not stated"
                else NOT_AVAILABLE for k in pub["datasets"]]
        rows.append(row)
    notes = ["Run cells: exact-match accuracy (%) on the held-out synthetic_arith problems, mean "
             "[95% bootstrap CI]. Near-miss pairs differ in one intermediate result (DPOP's "
             "MetaMath construction); far-miss pairs in almost every number (ARC-like)."]
    for kind, view in cols.items():
        if view is not None:
            trained = "+".join(view.kinds) if view.kinds else "unknown"
            notes.append(f"{kind} column: run {view.describe()}"
                         + ("" if kind == "both" or view.kinds == (kind,) else
                            f" -- WARNING: this run trains on {trained}, not only {kind}"))
        else:
            notes.append(f"{kind} column: {NOT_IN_RUN}; make one with "
                         f"--set data.synthetic.kinds=[{kind}] and pass it as --"
                         f"{kind.split('_')[0]} RUN (see tasks/runs/dpop_paper.yaml)")
    notes.append(f"Published: {pub['paper']}, {pub['figure']}; source {pub['source']}. "
                 f"Accuracy numbers: {pub['numbers']}. {pub['note']}")
    return PaperTable("DPOP contrast: accuracy after training on near-miss vs far-miss pairs",
                      header, rows, notes)


def _fmt(x: float, sign: str = "") -> str:
    """Three decimals: a small model's log-prob shifts are small; never print "-0.000"."""
    return "-" if not math.isfinite(x) else f"{x + 0.0 if round(x, 3) else 0.0:{sign}.3f}"


def dpop_token_table(views: list[RunView]) -> PaperTable:
    """Mean log-prob of chosen tokens after the first differing token (near-miss pairs), per
    model and run, beside DPOP Fig. 4 (MetaMath); deltas are taken against the base/reference."""
    pub = load_published("dpop_metamath_token_logps")
    ref = pub["values"]["reference"]
    views = list({v.path.resolve(): v for v in views}.values())
    header, data = ["model"], []
    for v in views:
        t = v.token_logps
        t = t[t["kind"] == "near_miss"] if t is not None else None
        if t is None or t.empty:
            header += [f"{v.name}: log-prob", f"{v.name}: Δ vs base"]
            data.append((v, {}))
            continue
        per = t.groupby("model", sort=False)["logp_after_first_diff"].mean().to_dict()
        ns = sorted({int(n) for n in t["n"]})
        n = f", n={ns[0]}" if len(ns) == 1 else ""
        header += [f"{v.name}: log-prob{n}", f"{v.name}: Δ vs base"]
        data.append((v, per))
    header += [f"published MetaMath, n={pub['n_samples']}", "published Δ vs reference"]
    labels = ["base"] + [lab for _, per in data for lab in per if lab != "base"]
    labels = list(dict.fromkeys(labels + ["dpo", "dpop"]))
    rows = []
    for label in labels:
        row = [label + (" (reference)" if label == "base" else "")]
        for v, per in data:
            if label not in per:
                row += [NOT_IN_RUN, "-"]
            else:
                base = per.get("base", math.nan)
                row += [_fmt(per[label]), "-" if label == "base" else _fmt(per[label] - base, "+")]
        method = next((v.method_of(label) for v, per in data if label in per), label)
        key = "reference" if label == "base" else method
        if key in pub["values"]:
            val = pub["values"][key]
            row += [f"{val:.2f}", "-" if key == "reference" else f"{val - ref:+.2f}"]
        else:
            row += [NOT_AVAILABLE, "-"]
        rows.append(row)
    notes = ["Run cells: mean over near-miss test pairs of the mean log-prob of the chosen "
             "completion's tokens after the first token where chosen and rejected differ "
             "(token_logps.csv, kind near_miss); 'base' is the starting checkpoint, the reference "
             "model of DPO/DPOP. Δ = model minus base (run) or minus reference (published, "
             "computed here from the published values).",
             f"Published: {pub['paper']}, {pub['figure']}; source {pub['source']}. {pub['note']}"]
    return PaperTable("DPOP token-level log-probs after the first differing token "
                      "(near-miss pairs vs MetaMath)", header, rows, notes)


def published_tables(view: RunView) -> list[PaperTable]:
    """Smaug-72B's MT-Bench (with this run's MT-Bench beside it) and [Blur]'s ASFT re-evaluation."""
    smaug = load_published("smaug_mt_bench")
    v = smaug["values"]
    rows = [["Smaug-72B-v0.1 (published)", f"{v['turn1']:.2f}", f"{v['turn2']:.2f}",
             f"{v['average']:.2f}"]]
    keys = ("mt_bench/mt_bench_turn1", "mt_bench/mt_bench_turn2", "mt_bench/mt_bench_avg")
    if any(view.has_column(k) for k in keys):
        rows += [[f"{lab} ({view.name})"] + [view.cell(lab, k) for k in keys]
                 for lab in view.labels]
    else:
        rows.append([f"all models ({view.name})"] + [NOT_IN_RUN] * 3)
    out = [PaperTable("MT-Bench: Smaug-72B (published) and this run", ["model", "turn 1", "turn 2",
                      "average"], rows, [f"Published: {smaug['paper']}; source {smaug['source']}. "
                                         f"{smaug['note']}"])]
    blur = load_published("blur_asft_reeval")
    for t in blur["tables"]:
        notes = [f"Source: {blur['source']}. {blur['note']}"]
        notes += [f"Caption: {t['caption'].strip()}"] if t.get("caption") else []
        rows = [list(map(str, r)) for r in t["rows"]]
        out.append(PaperTable(t["title"], list(t["columns"]), rows,
                              notes, left=sum(1 for c in t["columns"] if c in ("init", "method"))))
    return out


# -------------------------------------------------------------------------------- rendering
def header_lines(views: list[RunView]) -> list[str]:
    main = views[0]
    lines = ["Runs: " + "; ".join(dict.fromkeys(v.describe() for v in views)) + "."]
    model = main.config.get("model") or {}
    if model.get("embedded"):
        e = model["embedded"]
        lines.append(f"Model: the small embedded Llama (hidden {e.get('hidden_size')}, "
                     f"{e.get('num_layers')} layers, vocab {e.get('vocab_size')}) trained here on "
                     "CPU, so the numbers are not comparable in magnitude to the papers' (Llama-3 "
                     "8B, Mistral-7B, 72B models): compare directions, not values.")
    else:
        lines.append(f"Model: {model.get('path') or 'unknown (no config in manifest.json)'}.")
    hw, pk = (main.manifest.hardware, main.manifest.packages) if main.manifest else ({}, {})
    gpu = f"{hw.get('gpu_count', 1)} x {hw['gpu']}" if hw.get("gpu") else "no GPU"
    lines.append(f"Machine: {hw.get('platform', 'unknown')}, {hw.get('cpu_count', '?')} CPUs, "
                 f"{hw.get('mem_gib', '?')} GiB RAM, {gpu}; python {hw.get('python', '?')}, "
                 f"torch {pk.get('torch', '?')}, trl {pk.get('trl', '?')}.")
    lines.append("Published figures: harness/report/published/*.yaml (sources in each table's "
                  "notes). Regenerate with scripts/regenerate_paper_tables.py.")
    return lines


def to_markdown(title: str, header: list[str], tables: list[PaperTable]) -> str:
    parts = [f"# {title}", ""] + [f"{h}  " for h in header]
    for t in tables:
        table = render.markdown_table(t.header, render.plain(t.rows), lambda j: j >= t.left)
        parts += ["", f"## {t.title}", "", table, ""] + [f"- {n}" for n in t.notes]
    return "\n".join(parts) + "\n"


def to_latex(header: list[str], tables: list[PaperTable]) -> str:
    lines = ["% Generated by scripts/regenerate_paper_tables.py; "
             "needs \\usepackage{booktabs,graphicx}."]
    lines += ["% " + h for h in header]
    for t in tables:
        lines += ["", "\\begin{table}[t]", "\\centering", "\\scriptsize",
                  f"\\caption{{{render.tex_escape(t.title)}}}",
                  "\\resizebox{\\linewidth}{!}{%",  # its } ends the tabular line
                  render.latex_tabular(t.header, render.plain(t.rows), left=t.left) + "}",
                  "\\par\\smallskip", "\\begin{minipage}{\\linewidth}\\tiny "
                  + render.tex_escape(" ".join(t.notes + header[:3]))
                  + "\\end{minipage}", "\\end{table}"]
    return "\n".join(lines) + "\n"


def write_paper_tables(run_dir: str | Path, out_dir: str | Path, *, near=None, far=None,
                       uf=None, hh=None) -> dict[str, Path]:
    """Write asft_comparison.{md,tex}, dpop_contrast.{md,tex} and published.{md,tex}."""
    main = load_view(run_dir)
    extra = {k: load_view(p) if p else None for k, p in
             (("near", near), ("far", far), ("uf", uf), ("hh", hh))}
    views = [main] + [v for v in extra.values() if v is not None]
    header = header_lines(views)
    for v in views:
        header += v.notes
    near_v = extra["near"] or (main if main.kinds == ("near_miss",) else None)
    docs = {"asft_comparison": ("ASFT comparison", [asft_table(extra["uf"] or main,
                                                                extra["hh"] or main)]),
            "dpop_contrast": ("DPOP contrast", [
                dpop_accuracy_table(main, extra["near"], extra["far"]),
                dpop_token_table([v for v in (near_v, main) if v is not None])]),
            "published": ("Published figures beside this run", published_tables(main))}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for stem, (title, tables) in docs.items():
        files[f"{stem}.md"] = out_dir / f"{stem}.md"
        files[f"{stem}.tex"] = out_dir / f"{stem}.tex"
        atomic_write_text(files[f"{stem}.md"], to_markdown(title, header, tables))
        atomic_write_text(files[f"{stem}.tex"], to_latex(header, tables))
    return files
