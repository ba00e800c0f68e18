"""kill -9 in the middle of a run, rerun: finished stages are not redone, the run completes, and
its scores equal those of an uninterrupted run (training and greedy generation are seeded)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
CONFIG = """run_name: resume
model:
  embedded: {vocab_size: 300, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}
data: {synthetic: {n_sft: 200, n_preference: 16, n_test: 8, max_value: 20}}
sft: {max_steps: 10, batch_size: 16, warmup_steps: 1, max_length: 64}
train: {max_steps: 30, batch_size: 8, max_length: 64, logps_every: 10, probe_pairs: 2}
methods: [sft, dpo, asft, orpo]
tasks:
  - {name: synthetic_arith, options: {n_samples: 8}}
generation: {backend: hf}
"""


def _cmd(cfg: Path, root: Path) -> list[str]:
    return [sys.executable, "-m", "harness.cli", "run", str(cfg), "--set", f"cache_dir={root}/cache",
            "--set", f"results_dir={root}/results"]


def test_kill_and_resume(tmp_path):
    cfg = tmp_path / "resume.yaml"
    cfg.write_text(CONFIG)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cmd(cfg, killed), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 600
    train_dir = killed / "cache" / "train"
    while time.time() < deadline and len(list(train_dir.glob("*/DONE"))) < 2:
        assert proc.poll() is None, "run ended before it could be killed"
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(train_dir.glob("*/DONE")))
    assert 2 <= done_before < 4

    rerun = subprocess.run(_cmd(cfg, killed), cwd=REPO, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    manifest = json.loads((killed / "results" / "resume" / "manifest.json").read_text())
    retrained = [c for c in manifest["computed_this_run"] if c.startswith("train:")]
    assert len(retrained) == 4 - done_before and "base" not in manifest["computed_this_run"]

    clean = tmp_path / "clean"
    ok = subprocess.run(_cmd(cfg, clean), cwd=REPO, capture_output=True, text=True, timeout=900)
    assert ok.returncode == 0, ok.stderr[-3000:]
    cols = ["model", "task", "metric", "sample_id", "score"]
    a = pd.read_csv(killed / "results" / "resume" / "scores.csv")[cols]
    b = pd.read_csv(clean / "results" / "resume" / "scores.csv")[cols]
    pd.testing.assert_frame_equal(a, b)
    dyn = pd.read_csv(killed / "results" / "resume" / "dynamics.csv")
    assert not dyn.duplicated(["model", "step", "kind"]).any()
    for _, g in dyn.groupby(["model", "kind"]):
        assert sorted(g["step"]) == [0, 10, 20, 30]
