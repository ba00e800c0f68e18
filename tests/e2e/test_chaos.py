"""The short version of scripts/chaos.py: a two-seed run with a judge that faults in transport,
killed with SIGKILL once in training and once aimed at judging (the full script also aims at
generation), rerun to completion: no score row lost, none
different from a clean run's."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_chaos_short(tmp_path):
    out = tmp_path / "chaos.json"
    proc = subprocess.run([sys.executable, "scripts/chaos.py", "--campaigns", "1", "--targets", "train,score", "--seed", "1", "--sft-steps", "20",
                           "--train-steps", "12", "--questions", "2", "--out", str(out), "--work", str(tmp_path / "w")],
                          cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["rows_lost"] == 0 and result["rows_differing"] == 0 and result["rows_extra"] == 0, result
    # base + 3 methods x 2 seeds = 7 checkpoints x (3 arithmetic metrics x 8 + 2 MT-Bench turns x 2)
    assert result["rows_clean"] == 7 * (3 * 8 + 2 * 2)
    assert result["judged_rows"] > 0 and sum(result["judge_faults_injected"].values()) > 0
    # one kill aimed at training, one at scoring (judging); where each landed is recorded
    assert result["kills_survived"] == 2 and "train" in result["kills_by_stage"], result["kills"]
    assert proc.returncode == 0, proc.stderr[-3000:]
