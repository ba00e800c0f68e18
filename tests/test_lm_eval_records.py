"""`harness lm-eval` keeps a true record: lm_eval_scores.csv accumulates over calls (a call
replaces only the (model, seed, task) it evaluated) and names the checkpoint each row measured; the
leaderboard takes only rows of the checkpoints the run's manifest names now, with a note on the
rest (a method retrained under the same run name once got its old checkpoint's lm-eval scores)."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness.evaluate.lm_eval_rows import LM_EVAL_COLUMNS, measured_now, merge_rows
from harness.manifest import RunManifest

lm_eval = pytest.importorskip("lm_eval")


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _frame(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, dtype={"checkpoint": str, "model": str, "task": str})


def test_two_calls_accumulate_and_a_retrained_checkpoint_leaves_old_rows_out(tiny_model_dir, tmp_path):
    from harness.evaluate.lm_eval import run_lm_eval
    cache = tmp_path / "cache"
    first = cache / "train" / "k1" / "model"
    shutil.copytree(tiny_model_dir, first)
    run = tmp_path / "results" / "tiny"
    run.mkdir(parents=True)
    manifest = {"run_name": "tiny", "config": {"seed": 0, "model": {"dtype": "auto"}, "methods": ["sft"],
                                               "cache_dir": str(cache)},
                "stage_keys": {}, "checkpoints": {"sft": "train/k1/model"}}
    (run / "manifest.json").write_text(json.dumps(manifest))

    run_lm_eval(run, ["harness_synthetic_arith"], backend="hf", limit=1)
    run_lm_eval(run, ["harness_hh_rlhf_gen"], backend="hf", limit=1)
    rows = _csv(run / "lm_eval_scores.csv")
    assert list(rows[0]) == LM_EVAL_COLUMNS
    # the first call's task is still there (a second call used to rewrite the file with its own only)
    assert {r["task"] for r in rows} == {"harness_synthetic_arith", "harness_hh_rlhf_gen"}
    assert {r["checkpoint"] for r in rows} == {"train/k1/model"}
    kept, note = measured_now(_frame(run / "lm_eval_scores.csv"), RunManifest.model_validate(manifest))
    assert len(kept) == len(rows) and note is None and "checkpoint" not in kept.columns

    # the method is retrained under the same run name: its checkpoint is another stage folder
    second = cache / "train" / "k2" / "model"
    shutil.copytree(tiny_model_dir, second)
    manifest["checkpoints"] = {"sft": "train/k2/model"}
    (run / "manifest.json").write_text(json.dumps(manifest))
    summary = run_lm_eval(run, ["harness_synthetic_arith"], backend="hf", limit=1)
    rows = _csv(run / "lm_eval_scores.csv")
    by_task = {t: {r["checkpoint"] for r in rows if r["task"] == t} for t in ("harness_synthetic_arith",
                                                                             "harness_hh_rlhf_gen")}
    assert by_task == {"harness_synthetic_arith": {"train/k2/model"}, "harness_hh_rlhf_gen": {"train/k1/model"}}
    assert summary["rows_in_file"] == len(rows) > summary["rows"]
    kept, note = measured_now(_frame(run / "lm_eval_scores.csv"), RunManifest.model_validate(manifest))
    assert set(kept["task"]) == {"harness_synthetic_arith"}
    stale = sum(r["task"] == "harness_hh_rlhf_gen" for r in rows)
    assert note == (f"lm_eval_scores.csv: {stale} rows left out, measured on another checkpoint than the run's "
                    "current one (or on one not recorded): sft seed 0 (harness_hh_rlhf_gen); run `harness "
                    "lm-eval` again for them")


def test_merge_replaces_only_what_the_call_evaluated(tmp_path):
    path = tmp_path / "lm_eval_scores.csv"
    old = [{"model": "dpo", "seed": "0", "task": "a", "metric": "acc", "sample_id": "1", "score": "1.0",
            "checkpoint": "train/x/model"},
           {"model": "dpo", "seed": "0", "task": "b", "metric": "acc", "sample_id": "1", "score": "0.0",
            "checkpoint": "train/x/model"},
           {"model": "dpo", "seed": "1", "task": "a", "metric": "acc", "sample_id": "1", "score": "0.5",
            "checkpoint": "train/y/model"}]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=LM_EVAL_COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(old)
    new = [{"model": "dpo", "seed": 0, "task": "a", "metric": "acc", "sample_id": "2", "score": 0.0,
            "checkpoint": "train/z/model"}]
    merged = merge_rows(path, new)
    assert [(r["seed"], r["task"], r["sample_id"]) for r in merged] == [("0", "b", "1"), ("1", "a", "1"), (0, "a", "2")]


def test_measured_now_rows_of_seeds_and_files_without_checkpoints():
    manifest = {"config": {"seed": 0}, "checkpoints": {"dpo-seed1": "train/s1/model", "base": "base/b/model"},
                "checkpoint_rows": {"dpo-seed1": {"model": "dpo", "seed": 1}}}
    frame = pd.DataFrame([
        {"model": "dpo", "seed": 1, "task": "t", "checkpoint": "train/s1/model"},
        {"model": "base", "seed": 0, "task": "t", "checkpoint": "base/b/model"},
        {"model": "dpo", "seed": 2, "task": "t", "checkpoint": "train/s2/model"},  # seed not in this run
        {"model": "base", "seed": 0, "task": "u", "checkpoint": ""}])  # written before checkpoints were named
    kept, note = measured_now(frame, RunManifest.model_validate(manifest))
    assert list(zip(kept["model"], kept["seed"])) == [("dpo", 1), ("base", 0)]
    assert note.startswith("lm_eval_scores.csv: 2 rows left out") and "base seed 0 (u), dpo seed 2 (t)" in note
    old_file = frame.drop(columns="checkpoint")  # a file of the old format: its checkpoints are unknown
    assert measured_now(old_file, RunManifest.model_validate(manifest))[0].empty


def test_a_failed_checkpoint_gives_rows_the_report_reads(tmp_path):
    """A checkpoint lm-eval cannot load is a row per task with status error; those rows had an
    empty metric, which read_scores refuses, so the run's leaderboard could not be rebuilt."""
    from harness.evaluate.lm_eval import FAILED_METRIC, run_lm_eval
    from harness.report.load import read_scores
    broken = tmp_path / "cache" / "train" / "k" / "model"
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("{}")
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"config": {"seed": 0, "cache_dir": str(tmp_path / "cache")},
                                                   "checkpoints": {"dpo": "train/k/model"}}))
    summary = run_lm_eval(run, ["harness_synthetic_arith"], backend="hf", limit=1)
    assert list(summary["errors"]) == ["dpo"]
    scores = read_scores(run / "lm_eval_scores.csv")
    assert scores[["task", "metric", "status"]].values.tolist() == [["harness_synthetic_arith", FAILED_METRIC,
                                                                     "error"]]
