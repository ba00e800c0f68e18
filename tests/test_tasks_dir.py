"""A user's task folder (`--tasks-dir`) end to end through the real CLI: a new task file written
here is listed by `list-tasks` and scored by `run` into scores.csv and leaderboard.csv."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent

TASK_FILE = '''"""Reverse a word, letter by letter: a user task from tests/test_tasks_dir.py."""
from harness import GenerateParams, Sample, Task, task


@task
def reverse_word(run_config=None, words: str = "apple,river,stone", max_new_tokens: int = 8) -> Task:
    seed = run_config.seed if run_config is not None else None

    def load() -> list[Sample]:
        return [Sample(id=f"rev-{i}", turns=[f"Reverse the word: {w}"], references=[w[::-1]],
                       category="reverse", meta={"seed": seed}) for i, w in enumerate(words.split(","))]

    return Task(name="reverse_word", load=load, metrics=("exact_match", "bleu4", "same_as_base"),
                generate_params=GenerateParams(max_new_tokens=max_new_tokens, temperature=0.0),
                description="reverse a word")
'''

JUDGE_FILE = '''"""A second judged benchmark's judge, from tests/test_tasks_dir.py: does a row answer as the
base row does? (Judged metrics see every row at once, as a pairwise judge must.)"""
import json

from harness.metrics import JudgedMetric, metric


def judge_against_base(cfg, task, samples, answers, metrics, out_dir, cache_dir):
    base = {r["id"]: r["turns"] for r in answers[("base", task.name)]}
    calls = out_dir / "judgments" / task.name / "calls.jsonl"
    calls.parent.mkdir(parents=True, exist_ok=True)
    with calls.open("a") as f:
        f.write(json.dumps({"rows": sorted(row for row, _ in answers), "metrics": metrics}) + "\\n")
    return [{"model": row, "seed": cfg.seed, "task": task.name, "metric": "same_as_base",
             "sample_id": rec["id"], "category": "reverse", "score": float(rec["turns"] == base[rec["id"]]),
             "status": "ok", "reason": ""}
            for (row, _), records in answers.items() for rec in records]


@metric
class SameAsBase(JudgedMetric):
    name = "same_as_base"
    scale = (0.0, 1.0)
    judge = judge_against_base
'''

CONFIG = """run_name: userdir
seed: 0
model:
  embedded: {vocab_size: 400, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}
data:
  synthetic: {n_sft: 64, n_preference: 8, n_test: 4, max_value: 20}
sft: {max_steps: 3, batch_size: 8, learning_rate: 3.0e-3, warmup_steps: 1, max_length: 64}
train: {max_steps: 2, batch_size: 4, learning_rate: 5.0e-5, max_length: 64, logps_every: 1, probe_pairs: 2}
methods: [sft]
tasks:
  - {name: reverse_word, options: {words: "cat,dog,owl", max_new_tokens: 8}}
generation: {backend: hf}
"""


def _cli(*args: str, cwd: Path = REPO, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env)


@pytest.fixture
def user_tasks(tmp_path) -> Path:
    folder = tmp_path / "my_tasks"
    folder.mkdir()
    (folder / "reverse_word.py").write_text(TASK_FILE)
    (folder / "same_as_base.py").write_text(JUDGE_FILE)
    return folder


def test_list_tasks_shows_a_user_task(user_tasks):
    proc = _cli("list-tasks", "--tasks-dir", str(user_tasks))
    assert proc.returncode == 0, proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}
    assert "Reverse a word, letter by letter" in lines["reverse_word"]
    assert {"synthetic_arith", "hh_rlhf_gen", "mt_bench", "ultrafeedback_gen"} <= set(lines)
    plain = _cli("list-tasks")
    assert plain.returncode == 0 and "reverse_word" not in plain.stdout


def test_broken_task_file_is_a_clear_error(tmp_path):
    (tmp_path / "broken.py").write_text("from harness import task\n\n@task\ndef broken(:\n")
    proc = _cli("list-tasks", "--tasks-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "cannot import task file" in proc.stderr and "broken.py" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_run_scores_a_user_task_end_to_end(user_tasks, tmp_path):
    cfg = tmp_path / "userdir.yaml"
    cfg.write_text(CONFIG)
    proc = _cli("run", str(cfg), "--tasks-dir", str(user_tasks), "--set", f"cache_dir={tmp_path}/cache",
                "--set", f"results_dir={tmp_path}/results")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "results" / "userdir"

    scores = pd.read_csv(out / "scores.csv")
    judged = scores[scores["metric"] == "same_as_base"]
    # the judged metric (a task file and a judge file, nothing else): one call for all rows
    calls = [json.loads(line) for line in (out / "judgments" / "reverse_word" / "calls.jsonl").open()]
    assert calls == [{"rows": ["base", "sft"], "metrics": ["same_as_base"]}]
    assert len(judged) == 2 * 3 and set(judged[judged["model"] == "base"]["score"]) == {1.0}
    mine = scores[(scores["task"] == "reverse_word") & (scores["metric"] != "same_as_base")]
    assert len(mine) == 2 * 2 * 3  # rows (base, sft) x metrics x samples
    assert set(mine["model"]) == {"base", "sft"} and set(mine["metric"]) == {"exact_match", "bleu4"}
    assert set(mine["sample_id"]) == {"rev-0", "rev-1", "rev-2"} and set(mine["category"]) == {"reverse"}
    assert set(mine["status"]) == {"ok"}
    assert all(math.isfinite(v) and 0 <= v <= 100 for v in mine["score"])

    lb = pd.read_csv(out / "leaderboard.csv")
    assert list(lb["model"]) == ["base", "sft"]
    for col in ("reverse_word/exact_match:mean", "reverse_word/bleu4:mean"):
        assert col in lb.columns
        assert all(math.isfinite(v) and 0 <= v <= 100 for v in lb[col])
    assert "reverse_word/same_as_base:mean" in lb.columns
    assert "reverse_word" in (out / "leaderboard.md").read_text()
    answers = (out / "answers" / "reverse_word" / "sft.jsonl").read_text().splitlines()
    assert len(answers) == 3


def test_a_task_naming_an_unknown_metric_fails_before_any_work(user_tasks, tmp_path):
    (user_tasks / "reverse_word.py").write_text(TASK_FILE.replace('"same_as_base"', '"same_as_bsae"'))
    cfg = tmp_path / "userdir.yaml"
    cfg.write_text(CONFIG)
    proc = _cli("run", str(cfg), "--tasks-dir", str(user_tasks), "--set", f"cache_dir={tmp_path}/cache",
                "--set", f"results_dir={tmp_path}/results")
    assert proc.returncode == 2
    assert "unknown metric 'same_as_bsae' (did you mean 'same_as_base'?)" in proc.stderr
    assert not (tmp_path / "cache").exists()
