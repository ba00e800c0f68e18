"""`harness run` with a judge: MT-Bench answers judged through a real loopback OpenAI-compatible
server, scores in the leaderboard, the key never written anywhere."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from loopback_judge import LoopbackJudge  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SECRET = "judge-Secret-5b1e77"
CONFIG = """run_name: judged
model:
  embedded: {vocab_size: 400, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}
data: {synthetic: {n_sft: 100, n_preference: 8, n_test: 4, max_value: 20}}
sft: {max_steps: 3, batch_size: 8, warmup_steps: 0, max_length: 64}
train: {max_steps: 2, batch_size: 4, max_length: 64, logps_every: 1, probe_pairs: 2}
methods: [orpo]
tasks:
  - {name: mt_bench, options: {n_questions: 4, max_new_tokens: 8}}
generation: {backend: hf}
"""


def test_judged_mt_bench_run(tmp_path, monkeypatch):
    cfg = tmp_path / "judged.yaml"
    cfg.write_text(CONFIG)
    with LoopbackJudge() as judge:
        env = {**__import__("os").environ, "HARNESS_TEST_KEY": SECRET}
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", str(cfg), "--set", f"cache_dir={tmp_path}/cache",
             "--set", f"results_dir={tmp_path}/results", "--set", f"judge.base_url={judge.base_url}",
             "--set", "judge.model=loopback-judge", "--set", "judge.api_key_env=HARNESS_TEST_KEY"],
            capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        requests = judge.requests
    out = tmp_path / "results" / "judged"
    scores = pd.read_csv(out / "scores.csv")
    mt = scores[scores["task"] == "mt_bench"]
    assert set(mt["metric"]) == {"mt_bench_turn1", "mt_bench_turn2"}
    assert len(mt) == 2 * 4 * 2  # base + orpo, 4 questions, 2 turns
    ok = mt[mt["status"] == "ok"]["score"]
    assert len(ok) == len(mt) and ok.between(1, 10).all()
    lb = pd.read_csv(out / "leaderboard.csv")
    assert lb["mt_bench/mt_bench_avg:mean"].between(1, 10).all()
    judgments = list((out / "judgments" / "mt_bench").glob("*_single.jsonl"))
    assert judgments and json.loads(judgments[0].read_text().splitlines()[0])["judge"][0] == "loopback-judge"
    # the judge cache is keyed by prompt: models that gave identical answers are judged once
    assert 0 < requests <= 2 * 4 * 2
    for path in list(out.rglob("*")) + list((tmp_path / "cache").rglob("*")):
        if path.is_file() and path.suffix in {".json", ".jsonl", ".csv", ".md", ".html", ".tex", ".yaml"}:
            assert SECRET not in path.read_text(errors="ignore"), path
    assert SECRET not in proc.stderr + proc.stdout
