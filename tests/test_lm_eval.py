"""lm-eval integration: the harness's task YAML in tasks/lm_eval, and `harness lm-eval`
(harness.evaluate.lm_eval) on a run directory whose manifest names its checkpoints."""
from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness.vllm_env import vllm_importable
from harness.errors import HarnessError
from harness.evaluate.checkpoints import find_checkpoints
from harness.evaluate.lm_eval import DEFAULT_INCLUDE_PATH, run_lm_eval
from harness.evaluate.lm_eval_rows import CORPUS_ID, rows_from_results
from harness.run_tables import SCORE_COLUMNS

REPO = Path(__file__).resolve().parent.parent
LM_EVAL_DIR = REPO / "tasks" / "lm_eval"
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}

lm_eval = pytest.importorskip("lm_eval")


def _module(name: str):
    """tasks/lm_eval/<name>.py, imported by path under a private name."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f"_harness_lm_eval_{name}", LM_EVAL_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_run(root: Path, checkpoints: dict[str, str], methods=("sft",), cache: Path | None = None) -> Path:
    run = root / "results" / "tiny"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({
        "run_name": "tiny", "config": {"seed": 3, "model": {"dtype": "auto"}, "methods": list(methods),
                                       "cache_dir": str(cache or root / "cache")},
        "seeds": {"run": 3, "training": [3]},
        "stage_keys": {}, "checkpoints": checkpoints}))
    return run


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------------------- the task YAML


def test_shipped_data_matches_build_script():
    build = _module("build")
    for name, rows in (("synthetic_arith_test.jsonl", build.arith_rows()),
                       ("hh_rlhf_helpful_test40.jsonl", build.hh_rows())):
        shipped = [json.loads(x) for x in (LM_EVAL_DIR / "data" / name).read_text().splitlines()]
        assert shipped == json.loads(json.dumps(rows)), f"{name} is stale: run tasks/lm_eval/build.py"
    assert len(build.arith_rows()) == 100 and len(build.hh_rows()) == 40


def test_hooks_match_the_harness_metrics():
    from harness.metrics import METRICS
    from harness.types import Sample
    u = _module("utils")
    docs = [{"answer": "80", "solution": "12+45=57; 57-7=50; 50+30=80; ans 80"}] * 3
    preds = ["12+45=57; 57-7=50; 50+30=80; ans 80", "12+45=57; ans 81", "  ans 80 and then ans 80"]
    samples = [Sample(id=str(i), turns=["q"], references=[d["solution"]], meta={"answer": d["answer"]})
               for i, d in enumerate(docs)]
    for metric in ("exact_match", "bleu4", "rougeL"):
        ours = [s.score for s in METRICS.get(metric)().score([[p] for p in preds], samples)]
        theirs = [u.process_arith(d, [p])[metric] for d, p in zip(docs, preds)]
        assert theirs == pytest.approx(ours), metric
    assert u.process_arith(docs[0], [preds[0]]) == {"exact_match": 100.0, "bleu4": pytest.approx(100.0),
                                                    "rougeL": pytest.approx(100.0)}
    assert u.process_text({"reference": "a b c"}, [""]) == {"bleu4": 0.0, "rougeL": 0.0}


@pytest.mark.slow
def test_lm_eval_cli_runs_our_task_from_any_directory(tiny_model_dir, tmp_path):
    """`lm_eval run --include_path tasks/lm_eval` offline, from a CWD that is not the repo."""
    out = tmp_path / "out"
    cmd = [str(Path(sys.executable).parent / "lm_eval"), "run", "--model", "hf",
           "--model_args", f"pretrained={tiny_model_dir},dtype=float32", "--device", "cpu",
           "--include_path", str(LM_EVAL_DIR), "--tasks", "harness_synthetic_arith", "--limit", "5",
           "--apply_chat_template", "--batch_size", "8", "--output_path", str(out), "--log_samples"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **OFFLINE})
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(next(out.rglob("results_*.json")).read_text())
    res = results["results"]["harness_synthetic_arith"]
    for metric in ("exact_match", "bleu4", "rougeL"):
        value = res[f"{metric},none"]
        assert isinstance(value, float) and math.isfinite(value) and 0.0 <= value <= 100.0
    assert results["n-samples"]["harness_synthetic_arith"] == {"original": 100, "effective": 5}
    samples = [json.loads(x) for x in next(out.rglob("samples_harness_synthetic_arith_*.jsonl")).read_text().splitlines()]
    assert len(samples) == 5
    prompt = samples[0]["arguments"]["gen_args_0"]["arg_0"]
    assert "<|user|>" in prompt and "What is" in prompt  # chat template applied to the question


# ----------------------------------------------------------------------------- harness lm-eval


@pytest.mark.slow
def test_run_lm_eval_on_run_dir(tiny_model_dir, tmp_path):
    run = _fake_run(tmp_path, {"sft": str(tiny_model_dir)})
    (run / "scores.csv").write_text(",".join(SCORE_COLUMNS) + "\nsft,3,synthetic_arith,exact_match,a-0,,100.0,ok,\n")
    summary = run_lm_eval(run, ["harness_synthetic_arith", "harness_hh_rlhf_gen"], backend="hf", limit=3)
    board = pd.read_csv(run / "leaderboard.csv")  # lm-eval metrics merged into the leaderboard
    assert {"synthetic_arith/exact_match:mean", "harness_synthetic_arith/exact_match:mean",
            "harness_hh_rlhf_gen/rougeL:mean"} <= set(board.columns)

    assert summary["backend"] == "hf" and summary["errors"] == {}
    info = summary["models"]["sft"]
    assert not info["cached"] and info["backend"] == "hf"
    for task, metrics in (("harness_synthetic_arith", ("exact_match", "bleu4", "rougeL")),
                          ("harness_hh_rlhf_gen", ("bleu4", "rougeL"))):
        for m in metrics:
            v = info["results"][task][f"{m},none"]
            assert math.isfinite(v) and 0 <= v <= 100
    rows = _csv(run / "lm_eval_scores.csv")
    assert list(rows[0]) == [*SCORE_COLUMNS, "checkpoint"]  # the checkpoint each row measured
    assert len(rows) == summary["rows"] == 3 * 3 + 3 * 2  # per sample x metric
    assert {r["model"] for r in rows} == {"sft"} and {r["seed"] for r in rows} == {"3"}
    assert {r["status"] for r in rows} == {"ok"}
    arith = [r for r in rows if r["task"] == "harness_synthetic_arith" and r["metric"] == "exact_match"]
    assert [r["sample_id"] for r in arith] == ["arith-0", "arith-1", "arith-2"]
    hh = {r["sample_id"] for r in rows if r["task"] == "harness_hh_rlhf_gen"}
    assert all(s.startswith("helpful-base-test:") for s in hh) and len(hh) == 3
    stored = json.loads((run / "lm_eval" / "sft.json").read_text())
    assert stored["harness"]["model_dir"] == str(tiny_model_dir) and len(stored["rows"]) == len(rows)
    assert "samples" not in stored["lm_eval"]
    assert len((run / "lm_eval" / "sft.samples.jsonl").read_text().splitlines()) == 6

    assert (tmp_path / "cache" / "lm_eval" / stored["harness"]["stage"] / "DONE").is_file()

    # a rerun with the same request reuses the cached stage, through `harness lm-eval`
    from typer.testing import CliRunner

    from harness.cli import app
    res = CliRunner().invoke(app, ["lm-eval", str(run), "--tasks", "harness_synthetic_arith,harness_hh_rlhf_gen",
                                   "--backend", "hf", "--limit", "3"])
    assert res.exit_code == 0, res.output
    assert "(cached)" in res.output and "harness_synthetic_arith" in res.output
    assert _csv(run / "lm_eval_scores.csv") == rows
    # another run with the same checkpoint and cache evaluates nothing either; its rows are its own
    other = _fake_run(tmp_path / "other", {"dpo": str(tiny_model_dir)}, methods=("dpo",), cache=tmp_path / "cache")
    again = run_lm_eval(other, ["harness_synthetic_arith", "harness_hh_rlhf_gen"], backend="hf", limit=3)
    assert again["models"]["dpo"]["cached"]
    assert [{**r, "model": "sft"} for r in _csv(other / "lm_eval_scores.csv")] == rows
    # a different limit is another stage
    assert not run_lm_eval(other, ["harness_synthetic_arith"], backend="hf", limit=2)["models"]["dpo"]["cached"]


def test_a_seed_checkpoint_scores_under_its_row_and_seed(tiny_model_dir, tmp_path):
    """A run with several seeds names checkpoints dpo-seed1, ...: lm-eval's rows carry the
    leaderboard row and training seed from the manifest's checkpoint_rows."""
    run = _fake_run(tmp_path, {"dpo-seed1": str(tiny_model_dir)})
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["checkpoint_rows"] = {"dpo-seed1": {"model": "dpo", "seed": 1}}
    (run / "manifest.json").write_text(json.dumps(manifest))
    run_lm_eval(run, ["harness_synthetic_arith"], backend="hf", limit=1)
    rows = _csv(run / "lm_eval_scores.csv")
    assert rows and {(r["model"], r["seed"]) for r in rows} == {("dpo", "1")}


def test_bad_requests_are_clear_errors(tiny_model_dir, tmp_path):
    run = _fake_run(tmp_path, {"sft": str(tiny_model_dir)})
    with pytest.raises(HarnessError, match="unknown lm-eval task"):
        run_lm_eval(run, ["harness_no_such_task"], backend="hf", limit=1)
    with pytest.raises(HarnessError, match="backend"):
        run_lm_eval(run, ["harness_synthetic_arith"], backend="tpu")
    with pytest.raises(HarnessError, match="no manifest.json"):
        run_lm_eval(tmp_path, ["harness_synthetic_arith"])
    gone = _fake_run(tmp_path / "b", {"sft": str(tmp_path / "deleted")})
    with pytest.raises(HarnessError, match="checkpoint of row 'sft' not found"):
        run_lm_eval(gone, ["harness_synthetic_arith"])


def test_find_checkpoints_from_stage_keys_for_older_manifests(tmp_path):
    cache = tmp_path / "cache"
    for stage, key in (("base", "b0"), ("train", "t1"), ("train", "t2")):
        (cache / stage / key / "model").mkdir(parents=True)
        (cache / stage / key / "model" / "config.json").write_text("{}")
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({
        "config": {"cache_dir": str(cache), "include_base": True,
                   "methods": ["dpo", {"name": "dpop", "label": "dpop-l50"}]},
        "stage_keys": {"base:base": "b0", "train:dpop-l50": "t2", "train:dpo": "t1", "answers:dpo/x": "zz"}}))
    assert find_checkpoints(run) == {"base": str(cache / "base/b0/model"), "dpo": str(cache / "train/t1/model"),
                                     "dpop-l50": str(cache / "train/t2/model")}


def test_rows_from_results_per_sample_and_corpus():
    res = {"results": {"t": {"alias": "t", "acc,none": 0.5, "acc_stderr,none": 0.1, "bleu,none": 12.5,
                             "exact_match,strict-match": 1.0, "exact_match,flexible": 0.0}},
           "samples": {"t": [
               {"doc_id": 0, "doc": {"id": "q0", "category": "c"}, "filter": "none", "metrics": ["acc", "bleu"],
                "acc": 1.0, "bleu": ("ref", "pred")},
               {"doc_id": 1, "doc": {"question": "x"}, "filter": "none", "metrics": ["acc", "bleu"],
                "acc": float("nan"), "bleu": ("ref", "pred")},
               {"doc_id": 0, "doc": {"id": "q0"}, "filter": "strict-match", "metrics": ["exact_match"],
                "exact_match": True}]}}
    rows = rows_from_results(res, "dpo", 1)
    got = {(r["metric"], r["sample_id"]): (r["score"], r["status"], r["category"]) for r in rows}
    assert got[("acc", "q0")] == (1.0, "ok", "c")
    assert got[("acc", "1")][1] == "error"  # doc without "id": lm-eval's doc_id; NaN is an error row
    assert got[("exact_match@strict-match", "q0")] == (1.0, "ok", "")
    assert got[("bleu", CORPUS_ID)] == (12.5, "ok", "")  # no per-sample number: one corpus row
    assert got[("exact_match@flexible", CORPUS_ID)] == (0.0, "ok", "")
    assert ("acc", CORPUS_ID) not in got and not any("stderr" in m for m, _ in got)


def test_default_include_path_is_the_tasks_folder():
    assert DEFAULT_INCLUDE_PATH == LM_EVAL_DIR
    assert {p.name for p in LM_EVAL_DIR.glob("*.yaml")} >= {"harness_synthetic_arith.yaml",
                                                             "harness_hh_rlhf_gen.yaml"}



@pytest.mark.slow
@pytest.mark.skipif(not vllm_importable(), reason="vllm is not importable")
def test_run_lm_eval_vllm_backend(tiny_model_dir, tmp_path):
    """In-process vLLM through lm-eval: one fresh engine per checkpoint. The second checkpoint has
    other weights, so an engine that kept the first one's weights would be caught."""
    import torch

    from harness.models.load import load_model, load_tokenizer
    other = tmp_path / "perturbed"
    torch.manual_seed(0)
    model = load_model(tiny_model_dir)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(other)
    load_tokenizer(tiny_model_dir).save_pretrained(other)
    run = _fake_run(tmp_path, {"a": str(tiny_model_dir), "b": str(other)}, methods=("a", "b"))
    code = (f"from harness.evaluate.lm_eval import run_lm_eval\n"
            f"if __name__ == '__main__':\n"
            f"    s = run_lm_eval({str(run)!r}, ['harness_synthetic_arith'], backend='vllm', limit=3)\n"
            f"    print('SUMMARY', {{k: v['backend'] for k, v in s['models'].items()}}, s['errors'],\n"
            f"          s['vllm_engines'])\n")
    script = tmp_path / "go.py"
    script.write_text(code)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600,
                          cwd=REPO, env={**os.environ, **OFFLINE})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SUMMARY {'a': 'vllm', 'b': 'vllm'} {} 2" in proc.stdout  # one engine per checkpoint
    samples = {m: [json.loads(x)["filtered_resps"] for x in (run / "lm_eval" / f"{m}.samples.jsonl").read_text().splitlines()]
               for m in ("a", "b")}
    assert samples["a"] != samples["b"]  # the second engine serves the second checkpoint's weights
    hf = _fake_run(tmp_path / "hf", {"a": str(tiny_model_dir), "b": str(other)}, methods=("a", "b"))
    run_lm_eval(str(hf), ["harness_synthetic_arith"], backend="hf", limit=3)
    for m in ("a", "b"):  # and each engine answers as transformers does on that checkpoint (greedy)
        expected = [json.loads(x)["filtered_resps"] for x in (hf / "lm_eval" / f"{m}.samples.jsonl").read_text().splitlines()]
        assert samples[m] == expected, m


@pytest.mark.slow
def test_harness_lm_eval_keeps_library_noise_in_the_log(tiny_model_dir, tmp_path):
    """The terminal gets the scores (stdout) and two notes (stderr); lm-eval's, transformers' and
    git's output (lm-eval asks git for a commit hash: "fatal: not a git repository") go to the log."""
    run = _fake_run(tmp_path, {"sft": str(tiny_model_dir)})
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "lm-eval", str(run), "--tasks",
                           "harness_synthetic_arith", "--backend", "hf", "--limit", "2"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600, env={**os.environ, **OFFLINE,
                                                                             "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [line.split()[:2] for line in proc.stdout.splitlines()] == [["sft", "harness_synthetic_arith"]]
    notes = proc.stderr.splitlines()
    assert len(notes) == 2 and notes[0].startswith("library output: ") and notes[1].startswith("backend: hf;")
    log = (run / "logs" / "lm_eval.log").read_text()
    assert "harness_synthetic_arith" in log  # lm-eval's own report went there
