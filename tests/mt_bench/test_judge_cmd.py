"""`harness mt-bench judge` on answer files the harness did not produce, against a real loopback
judge: single, pairwise-baseline and pairwise-all in FastChat's formats; a dry run that sends
nothing and knows what is cached; a cost budget that stops cleanly and resumes."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from loopback_judge import LoopbackJudge

from harness.mt_bench.show_result import show_result

REPO = Path(__file__).resolve().parents[2]
ANSWERS = REPO / "tasks/data/mt_bench/model_answer"
QIDS = (81, 101, 111, 131)  # writing, reasoning and math (reference-guided), extraction


@pytest.fixture
def judge():
    with LoopbackJudge() as srv:
        yield srv


@pytest.fixture
def questions(tmp_path) -> Path:
    rows = [json.loads(line) for line in (REPO / "tasks/data/mt_bench/question.jsonl").read_text().splitlines()]
    path = tmp_path / "question.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows if r["question_id"] in QIDS))
    return path


def _judge(judge, questions, out, *args):
    cmd = [sys.executable, "-m", "harness.cli", "mt-bench", "judge", *args, "--base-url", judge.base_url,
           "--api-key-env", "", "--questions", str(questions), "--out", str(out), "--cost-per-1k-input", "1.0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
def test_single_mode_dry_run_and_cache(judge, questions, tmp_path):
    out = tmp_path / "gpt-4_single.jsonl"
    files = [str(ANSWERS / "llama-13b.jsonl.gz"), str(ANSWERS / "vicuna-13b-v1.3.jsonl.gz")]
    dry = _judge(judge, questions, out, *files, "--dry-run")
    assert "dry run: 16 judgments: 16 requests to send (0 already cached)" in dry and judge.requests == 0
    done = _judge(judge, questions, out, *files)
    assert "16 judged (0 without a new request), 0 failed" in done and judge.requests == 16
    assert "$0.0000 spent" not in done
    mode, table, duplicates = show_result(out)
    assert mode == "single" and set(table) == {"llama-13b", "vicuna-13b-v1.3"} and duplicates == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["judge"][1] for r in rows} >= {"single-v1", "single-math-v1", "single-v1-multi-turn"}
    again = _judge(judge, questions, out, *files, "--dry-run")
    assert "16 requests" not in again and "0 requests to send (16 already cached)" in again
    # a fully cached rerun sends nothing and says it spent nothing (it said "$7.04 spent")
    rerun = _judge(judge, questions, out, *files)
    assert judge.requests == 16
    assert "16 judged (16 without a new request), 0 failed (asked again on the next call), nothing spent (no request sent)" in rerun


def test_pairwise_baseline_and_all(judge, questions, tmp_path):
    out = tmp_path / "pair.jsonl"
    _judge(judge, questions, out, str(ANSWERS), "--mode", "pairwise-baseline", "--baseline-model", "gpt-3.5-turbo")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 * 4 * 2 and {r["model_2"] for r in rows} == {"gpt-3.5-turbo"}
    assert judge.requests == 2 * len(rows)  # both orders per judgment
    out_all = tmp_path / "all.jsonl"
    _judge(judge, questions, out_all, str(ANSWERS), "--mode", "pairwise-all")
    pairs = {(r["model_1"], r["model_2"]) for r in map(json.loads, out_all.read_text().splitlines())}
    assert len(pairs) == 3 and all(a < b for a, b in pairs)  # every unordered pair of 3 models once


@pytest.mark.slow
def test_budget_stops_cleanly_and_resumes(judge, questions, tmp_path):
    out = tmp_path / "all.jsonl"
    first = _judge(judge, questions, out, str(ANSWERS), "--mode", "pairwise-all", "--max-cost", "0.5")
    assert "stopped: the budget" in first
    n_first = len(out.read_text().splitlines())
    assert 0 < n_first < 3 * 4 * 2
    sent = judge.requests
    rest = _judge(judge, questions, out, str(ANSWERS), "--mode", "pairwise-all")
    assert "stopped" not in rest and len(out.read_text().splitlines()) == 3 * 4 * 2
    assert judge.requests - sent == 2 * (3 * 4 * 2 - n_first)  # only what was not judged yet


def test_bad_input_one_line(tmp_path, judge, questions):
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "mt-bench", "judge", str(ANSWERS), "--base-url",
                           judge.base_url, "--api-key-env", "", "--mode", "pairwise-baseline", "--baseline-model",
                           "nobody", "--questions", str(questions)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2 and "no answers for baseline 'nobody'" in proc.stderr
