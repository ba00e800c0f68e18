"""write_reports: the four leaderboard formats and the plots, from two merged synthetic runs."""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from conftest import score_rows  # type: ignore[import-not-found]
from harness.report import build_leaderboard, write_reports
from harness.report.render import latex_tabular, markdown_table, plain, tex_escape, to_latex


def test_write_reports_all_formats(make_run, tmp_path: Path) -> None:
    a = make_run("runA", ["sft", "dpo"])
    b = make_run("runB", ["orpo"], rng_seed=1)
    files = write_reports([a, b], tmp_path / "report", baseline="sft")
    for key in ("md", "csv", "tex", "html", "comparisons", "plot:logp_dynamics",
                "plot:scores_hh_rlhf_gen_bleu4", "plot:radar_mt_bench_mt_bench_avg"):
        assert files[key].is_file() and files[key].stat().st_size > 0, key
    assert files["plot:logp_dynamics"] == tmp_path / "report" / "plots" / "logp_dynamics.png"

    md = files["md"].read_text()
    assert "| model | hh_rlhf_gen/bleu4 |" in md and "## Paired comparisons vs sft" in md
    assert "**" in md and "[" in md

    table = pd.read_csv(files["csv"])
    assert list(table["label"]) == ["sft", "dpo", "orpo"]
    assert {"hh_rlhf_gen/bleu4:mean", "hh_rlhf_gen/bleu4:lo", "hh_rlhf_gen/bleu4:hi",
            "hh_rlhf_gen/bleu4:n"} <= set(table.columns)

    tex = files["tex"].read_text()
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "hh\\_rlhf\\_gen/bleu4" in tex and "hh_rlhf_gen" not in tex.split("\\toprule")[1] \
        .split("\\bottomrule")[0]
    lb = build_leaderboard([a, b])
    best = lb.table["hh_rlhf_gen/bleu4:mean"].idxmax()
    best_value = f"{lb.table['hh_rlhf_gen/bleu4:mean'].iloc[best]:.1f}"
    best_line = next(ln for ln in tex.splitlines() if ln.startswith(lb.table["label"].iloc[best]))
    assert f"\\textbf{{{best_value}}}" in best_line

    page = files["html"].read_text()
    assert "<table>" in page and '<img src="data:image/png;base64,' in page
    assert "<style>" in page and 'id="notes"' in page and "<link" not in page

    with open(files["comparisons"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["model"] for r in rows} == {"dpo", "orpo"}
    assert {r["verdict"] for r in rows} <= {"supported", "not supported"}


def test_plots_without_data_are_skipped_with_a_note(make_run, tmp_path: Path) -> None:
    rows = [[c if j != 8 else "" for j, c in enumerate(r)]  # no categories
            for r in score_rows(["sft"])]
    run = make_run("r", ["sft"], rows=rows, costs=False, dynamics=False)
    files = write_reports([run], tmp_path / "out")
    assert "plot:logp_dynamics" not in files and "plot:radar_mt_bench_mt_bench_avg" not in files
    notes = files["md"].read_text().split("## Notes")[1].split("##")[0]
    assert "logp_dynamics.png skipped: no dynamics.csv" in notes
    assert "radar_mt_bench_mt_bench_avg.png skipped: no per-sample category" in notes


def test_latex_escaping() -> None:
    assert tex_escape("a_b & 50% #1 {x}") == "a\\_b \\& 50\\% \\#1 \\{x\\}"
    assert tex_escape('Δ × 2… "q" †') == "$\\Delta$ $\\times$ 2\\ldots{} ``q'' $^\\dagger$"


HEADER = ["model | run", "a_b & c"]
ROWS = [[("dpo|x", False, "ok"), ("1.5 [1.0, 2.0]", True, "ok")],
        [("r&d_2", False, "ok"), ("0.5 [0.1, 0.9]*", False, "partial")]]


def test_markdown_table_escapes_and_bolds_only_the_value() -> None:
    assert markdown_table(HEADER, ROWS, lambda j: j > 0) == "\n".join([
        "| model \\| run | a_b & c |",
        "|---|---:|",
        "| dpo\\|x | **1.5** [1.0, 2.0] |",
        "| r&d_2 | 0.5 [0.1, 0.9]\\* |"])


def test_latex_tabular_escapes_and_bolds_only_the_value() -> None:
    assert latex_tabular(HEADER, ROWS + plain([["x", "y"]]), left=2) == "\n".join([
        "\\begin{tabular}{ll}", "\\toprule",
        "model | run & a\\_b \\& c \\\\", "\\midrule",
        "dpo|x & \\textbf{1.5} [1.0, 2.0] \\\\",
        "r\\&d\\_2 & 0.5 [0.1, 0.9]* \\\\",
        "x & y \\\\", "\\bottomrule", "\\end{tabular}"])


def test_not_judged_in_html_and_tex(make_run, tmp_path: Path) -> None:
    rows = [r if r[2] != "mt_bench" else r[:5] + ["", "not_judged", "no judge: set judge.model",
                                                     r[8]] for r in score_rows(["sft", "dpo"])]
    run = make_run("r", rows=rows, costs=False, dynamics=False)
    files = write_reports([run], tmp_path / "out", plots=False)
    page = files["html"].read_text()
    assert 'class="not_judged">not judged</td>' in page
    assert "not judged: no judge: set judge.model" in page  # the reason, once, under the table
    lb = build_leaderboard([run])
    tex = to_latex(lb, lb.notes)
    assert "& not judged &" in tex and "% not judged: no judge: set judge.model" in tex
