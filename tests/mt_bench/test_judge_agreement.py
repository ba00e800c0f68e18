"""`harness mt-bench agreement`: the published GPT-4 judgments agree with themselves; a perturbed
copy is measured exactly; pairwise agreement with and without ties as FastChat counts it."""
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.mt_bench.agreement import agreement, pairwise_agreement

PUBLISHED = Path(__file__).resolve().parents[2] / "tasks/data/mt_bench_published/model_judgment/gpt-4_single.jsonl.gz"


def _published() -> list[dict]:
    with gzip.open(PUBLISHED, "rt") as f:
        return [json.loads(line) for line in f]


def test_published_judgments_agree_with_themselves():
    mode, fig = agreement(PUBLISHED, PUBLISHED)
    assert mode == "single" and fig["exact"] == 1.0 and fig["within_1"] == 1.0
    assert fig["pearson"] == pytest.approx(1.0) and fig["model_rank_spearman"] == pytest.approx(1.0)
    assert fig["matched"] == 4 * 80 * 2  # 4 models x 80 questions x 2 turns (two passes averaged)
    assert len(fig["models"]) == 4


def test_a_perturbed_judge_is_measured_exactly(tmp_path):
    rows = [r for r in _published() if r["model"] == "mistral-orpo-mix" and r["score"] != -1]
    changed = []
    for i, r in enumerate(rows):
        r2 = dict(r)
        if i % 4 == 0:
            r2["score"] = min(10, r["score"] + 1)  # a quarter of the scores one point higher (capped)
        changed.append(r2)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(json.dumps(r) + "\n" for r in rows))
    b.write_text("".join(json.dumps(r) + "\n" for r in changed))
    _, fig = agreement(a, b)
    moved = sum(r["score"] != c["score"] for r, c in zip(rows, changed))
    assert fig["matched"] == len(rows) and fig["exact"] == pytest.approx(1 - moved / len(rows))
    assert fig["within_1"] == 1.0 and 0.8 < fig["pearson"] < 1.0


def _pair(qid, m1, m2, g1, g2, turn=1):
    return {"question_id": qid, "model_1": m1, "model_2": m2, "g1_winner": g1, "g2_winner": g2, "turn": turn}


def test_pairwise_with_and_without_ties():
    a = [_pair(1, "x", "y", "model_1", "model_1"), _pair(2, "x", "y", "model_2", "model_2"),
         _pair(3, "x", "y", "tie", "tie"), _pair(4, "x", "y", "model_1", "model_2")]
    # b lists the pair the other way round (y vs x): verdicts must be mapped, not compared raw
    b = [_pair(1, "y", "x", "model_2", "model_2"), _pair(2, "y", "x", "model_2", "model_2"),
         _pair(3, "y", "x", "tie", "tie"), _pair(4, "y", "x", "model_1", "model_1")]
    fig = pairwise_agreement(a, b)["turn_1"]
    assert fig["with_ties"] == {"total": 4, "agree": 2, "ratio": 0.5}  # q1 agree, q3 tie=tie
    assert fig["without_ties"] == {"total": 2, "agree": 1, "ratio": 0.5}  # q1, q2 (q3, q4 have a tie)


def test_cli(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "mt-bench", "agreement", str(PUBLISHED),
                           str(PUBLISHED)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "exact score agreement: 1.000" in proc.stdout and "Spearman over 4 models): 1.000" in proc.stdout
    single = tmp_path / "s.jsonl"
    single.write_text(json.dumps({"question_id": 1, "model": "m", "score": 5, "turn": 1}) + "\n")
    pair = tmp_path / "p.jsonl"
    pair.write_text(json.dumps(_pair(1, "x", "y", "tie", "tie")) + "\n")
    bad = subprocess.run([sys.executable, "-m", "harness.cli", "mt-bench", "agreement", str(single), str(pair)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "compare like with like" in bad.stderr
