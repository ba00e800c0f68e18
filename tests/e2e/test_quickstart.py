"""End to end: `harness run` on a tiny config through the real CLI, vLLM included.

Checks the leaderboard's shape, that every score is a finite number in range, that a rerun
recomputes nothing, and that changing one method's hyper-parameter retrains only that method.
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
METHODS = ["sft", "dpo", "dpop", "asft", "orpo"]
CONFIG = """run_name: tiny
seed: 0
model:
  embedded: {{vocab_size: 400, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}}
data:
  synthetic: {{n_sft: 300, n_preference: 24, n_test: 12, max_value: 20}}
  sft_extra:
    - {{loader: hh_rlhf, path: {hh}, offset: 500, limit: 30, skip_bad_rows: true}}
sft: {{max_steps: 15, batch_size: 16, learning_rate: 3.0e-3, warmup_steps: 2, max_length: 96}}
train: {{max_steps: 4, batch_size: 8, learning_rate: 5.0e-5, max_length: 96, logps_every: 2, probe_pairs: 4}}
methods: [sft, dpo, {{name: dpop, params: {{beta: 0.3, lambda_: 50.0}}}}, asft, orpo]
tasks:
  - {{name: synthetic_arith, options: {{n_samples: 12}}}}
  - {{name: hh_rlhf_gen, options: {{n_samples: 4, max_new_tokens: 16}}}}
  - {{name: mt_bench, options: {{n_questions: 3, max_new_tokens: 16}}}}
  - {{name: ifeval, options: {{n_prompts: 5, max_new_tokens: 16}}}}
generation: {{backend: {backend}}}
"""
RANGES = {"exact_match": (0, 100), "bleu4": (0, 100), "rougeL": (0, 100)}


def _run(cfg: Path, tmp: Path, *extra: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(cfg), "--set",
                           f"cache_dir={tmp}/cache", "--set", f"results_dir={tmp}/results", *extra],
                          capture_output=True, text=True, cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (tmp / "terminal.txt").write_text(proc.stdout + proc.stderr)
    return json.loads((tmp / "results" / "tiny" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    backend = "vllm" if _has_vllm() else "hf"
    cfg = tmp / "tiny.yaml"
    cfg.write_text(CONFIG.format(hh=REPO / "tasks/data/hh_rlhf/helpful-base-test.jsonl.gz", backend=backend))
    manifest = _run(cfg, tmp)
    return tmp, cfg, manifest, backend


def _has_vllm() -> bool:
    import importlib.util
    return importlib.util.find_spec("vllm") is not None


def test_leaderboard_shape_and_scores(run):
    tmp, _, manifest, backend = run
    out = tmp / "results" / "tiny"
    lb = pd.read_csv(out / "leaderboard.csv")
    assert list(lb["model"]) == ["base"] + METHODS
    for col in ["synthetic_arith/exact_match", "synthetic_arith/bleu4", "synthetic_arith/rougeL",
                "hh_rlhf_gen/bleu4", "hh_rlhf_gen/rougeL"]:
        assert f"{col}:mean" in lb.columns
    scores = pd.read_csv(out / "scores.csv")
    ok = scores[(scores["status"] == "ok") & (scores["task"] != "ifeval")]
    assert len(ok) == 6 * (12 * 3 + 4 * 2)
    for metric, (lo, hi) in RANGES.items():
        vals = ok[ok["metric"] == metric]["score"]
        assert len(vals) and all(math.isfinite(v) and lo <= v <= hi for v in vals)
    mt = scores[scores["task"] == "mt_bench"]
    assert set(mt["status"]) == {"not_judged"} and mt["score"].isna().all()
    assert "no judge configured" in mt["reason"].iloc[0]
    md = (out / "leaderboard.md").read_text()
    assert "not judged" in md
    answers = [json.loads(l) for l in (out / "answers" / "mt_bench" / "dpo.jsonl").read_text().splitlines()]
    assert len(answers) == 3 and all(len(a["choices"][0]["turns"]) == 2 for a in answers)
    assert isinstance(answers[0]["question_id"], int)
    for name in ("dynamics.csv", "token_logps.csv", "train_costs.csv", "plots/logp_dynamics.png"):
        assert (out / name).exists(), name
    assert set(manifest["stage_wall_s"]) >= {"data", "base", "train", "generate", "score"}
    assert manifest["hardware"]["cpu_count"] and manifest["packages"]["trl"] == "1.16.0"
    used = {json.loads(l)["backend"] for p in (tmp / "cache" / "answers").rglob("answers.jsonl")
            for l in p.read_text().splitlines()}
    assert used == {backend}


def test_ifeval_on_a_few_prompts(run):
    """IFEval (kept out of the quickstart's own tasks: the toy model cannot follow instructions)
    runs end to end on 5 prompts: four leaderboard columns and the per-instruction table."""
    tmp, _, _, _ = run
    out = tmp / "results" / "tiny"
    metrics = ["ifeval_prompt_strict", "ifeval_prompt_loose", "ifeval_inst_strict", "ifeval_inst_loose"]
    lb = pd.read_csv(out / "leaderboard.csv")
    assert all((lb[f"ifeval/{m}:status"] == "ok").all() for m in metrics)
    scores = pd.read_csv(out / "scores.csv")
    rows = scores[scores["task"] == "ifeval"]
    assert len(rows) == 6 * 5 * 4 and (rows["status"] == "ok").all()
    assert set(rows[rows["metric"] == "ifeval_prompt_strict"]["score"]) <= {0.0, 100.0}
    table = pd.read_csv(out / "ifeval_by_instruction.csv")
    assert set(table["model"]) == {"base", *METHODS} and (table["n"] > 0).all()


def test_rerun_recomputes_nothing_and_one_change_retrains_one_method(run):
    tmp, cfg, first, _ = run
    assert "base" in first["computed_this_run"]
    again = _run(cfg, tmp)
    assert again["computed_this_run"] == []
    changed = _run(cfg, tmp, "--set", "methods=[sft, dpo, {name: dpop, params: {beta: 0.3, lambda_: 5.0}}, asft, orpo]")
    trained = [c for c in changed["computed_this_run"] if c.startswith("train:")]
    assert trained == ["train:dpop"]


def test_token_logps_follow_the_pair_kinds(run):
    """Same starting checkpoint, different test pairs: the token-level stage must not reuse the
    other run's figures (it once did, keyed only by the number of pairs)."""
    tmp, cfg, _, _ = run
    _run(cfg, tmp, "--set", "data.synthetic.kinds=[far_miss]", "--set", "generation.backend=hf",
         "--set", "tasks=[{name: synthetic_arith, options: {n_samples: 4}}]")
    rows = pd.read_csv(tmp / "results" / "tiny" / "token_logps.csv")
    assert set(rows["kind"]) == {"far_miss"}
    assert list(rows["model"]) == ["base"] + METHODS


def test_console_shows_stages_and_table_only(run):
    """Library output (vLLM, torch, trainer logs, loading bars) goes to logs/run.log; the terminal
    shows stage headers, progress bars and the leaderboard."""
    tmp, _, _, _ = run
    terminal = (tmp / "terminal.txt").read_text()
    lines = terminal.splitlines()
    assert len(lines) <= 60, terminal
    assert "| model |" in terminal and "dpo: training" in terminal and "generating" in terminal
    assert not any(s in terminal for s in ("Warning", "WARNING", "it/s]", "{'loss'", "Loading"))
    log = (tmp / "results" / "tiny" / "logs" / "run.log").read_text()
    assert "'loss'" in log or "loss" in log


def test_grid_is_tuned_on_dev_and_only_the_chosen_point_is_reported(run):
    """A beta grid for DPO and a learning-rate grid for ASFT, two points each, chosen on the dev
    split: the points the first run already trained are reused, the chosen point is not trained
    again for the report, and only it reaches the leaderboard, with the budget."""
    tmp, cfg, _, _ = run
    manifest = _run(cfg, tmp, "--set", "data.synthetic.n_dev=6", "--set", "generation.backend=hf",
                    "--set", "methods=[{name: dpo, params: {beta: [0.1, 2.0]}}, "
                             "{name: asft, train: {learning_rate: [5.0e-5, 3.0e-3]}}]",
                    "--set", "tuning={task: {name: synthetic_arith, options: {split: dev}}, metric: exact_match}",
                    "--set", "tasks=[{name: synthetic_arith, options: {n_samples: 12}}]", "--set", "analyses=[dynamics]")
    trained = [c for c in manifest["computed_this_run"] if c.startswith("train:")]
    assert trained == ["train:dpo[beta=2.0]-seed0", "train:asft[learning_rate=0.003]-seed0"]  # the rest cached
    out = tmp / "results" / "tiny"
    tuning = pd.read_csv(out / "tuning.csv")
    assert len(tuning) == 4 and set(tuning["task"]) == {"synthetic_arith_dev"} and (tuning["n"] == 6).all()
    for model, g in tuning.groupby("model"):
        assert g["chosen"].sum() == 1
        best = g.loc[g["dev_mean"].idxmax()]  # idxmax: the first of equal maxima, as the choice
        assert bool(best["chosen"]), g
        assert manifest["tuning"][model]["chosen"] == best["point"]
    lb = pd.read_csv(out / "leaderboard.csv")
    assert list(lb["model"]) == ["base", "dpo", "asft"] and list(lb["train:budget"].fillna(0)) == [0, 2, 2]
    assert "grid point beta=" in (out / "leaderboard.md").read_text()
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores["task"]) == {"synthetic_arith"}  # dev answers never reach the test table
    # analyses: the training probe still ran, the checkpoint analysis made no job and left no table
    assert not any(c.startswith("token_logps") for c in manifest["computed_this_run"])
    assert not (out / "token_logps.csv").exists() and not (out / "pair_logps.csv").exists()
    assert set(pd.read_csv(out / "dynamics.csv")["model"]) == {"dpo", "asft"}
    costs = pd.read_csv(out / "train_costs.csv").set_index("model")
    assert costs.loc["dpo", "chosen"] == manifest["tuning"]["dpo"]["chosen"]
