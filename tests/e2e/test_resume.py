"""kill -9 at three moments of a run (inside the starting-checkpoint SFT after a checkpoint, inside
a method's training after a checkpoint, between trainings), rerun each time: finished stages are
not redone, training resumes from its checkpoint, and every checkpoint (bit for bit) and score equals an uninterrupted run's
(training, data order and greedy generation are seeded; the SFT's length-grouped batches are drawn
per epoch, not from the global RNG: harness.train.sampler.EpochSeededLengthGroupedSampler)."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
CONFIG = """run_name: resume
model:
  embedded: {vocab_size: 300, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}
data: {synthetic: {n_sft: 200, n_preference: 16, n_test: 8, max_value: 20}}
sft: {max_steps: 60, batch_size: 16, warmup_steps: 1, max_length: 64}
train: {max_steps: 60, batch_size: 8, max_length: 64, logps_every: 20, probe_pairs: 2}
methods: [dpo, asft]
tasks:
  - {name: synthetic_arith, options: {n_samples: 8}}
generation: {backend: hf}
"""


def _cmd(cfg: Path, root: Path) -> list[str]:
    return [sys.executable, "-m", "harness.cli", "run", str(cfg), "--set", f"cache_dir={root}/cache",
            "--set", f"results_dir={root}/results"]


def _kill_when(cfg: Path, root: Path, ready: Callable[[], bool]) -> None:
    err = root.parent / f"{root.name}.stderr"
    with err.open("a") as sink:
        proc = subprocess.Popen(_cmd(cfg, root), cwd=REPO, stdout=subprocess.DEVNULL, stderr=sink,
                                start_new_session=True)
    deadline = time.time() + 600
    while not ready():
        assert proc.poll() is None, f"run ended before it could be killed: {err.read_text()[-3000:]}"
        assert time.time() < deadline, "the kill point was never reached"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _unfinished_checkpoint(stage_root: Path) -> bool:
    """A training stage with a saved checkpoint that has not finished."""
    return any(not (d / "DONE").exists() and any((d / "trainer").glob("checkpoint-*"))
               for d in stage_root.glob("*") if d.is_dir())


def test_kill_anywhere_and_resume_to_the_same_scores(tmp_path):
    cfg = tmp_path / "resume.yaml"
    cfg.write_text(CONFIG)
    killed = tmp_path / "killed"
    base_dir, train_dir = killed / "cache" / "base", killed / "cache" / "train"

    _kill_when(cfg, killed, lambda: _unfinished_checkpoint(base_dir))            # inside the SFT
    assert not list(base_dir.glob("*/DONE"))
    _kill_when(cfg, killed, lambda: len(list(train_dir.glob("*/DONE"))) >= 1
               and _unfinished_checkpoint(train_dir))                            # inside a method
    done_before = len(list(train_dir.glob("*/DONE")))
    assert done_before == 1 and list(base_dir.glob("*/DONE"))

    rerun = subprocess.run(_cmd(cfg, killed), cwd=REPO, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    manifest = json.loads((killed / "results" / "resume" / "manifest.json").read_text())
    retrained = [c for c in manifest["computed_this_run"] if c.startswith("train:")]
    assert len(retrained) == 2 - done_before and "base" not in manifest["computed_this_run"]

    clean = tmp_path / "clean"
    ok = subprocess.run(_cmd(cfg, clean), cwd=REPO, capture_output=True, text=True, timeout=900)
    assert ok.returncode == 0, ok.stderr[-3000:]
    cols = ["model", "task", "metric", "sample_id", "score"]
    a = pd.read_csv(killed / "results" / "resume" / "scores.csv")[cols]
    b = pd.read_csv(clean / "results" / "resume" / "scores.csv")[cols]
    pd.testing.assert_frame_equal(a, b)
    for name in ("pair_logps.csv", "token_logps.csv"):  # the weights themselves, seen through log-probs
        pd.testing.assert_frame_equal(pd.read_csv(killed / "results" / "resume" / name),
                                      pd.read_csv(clean / "results" / "resume" / name))
    weights = sorted((clean / "cache").glob("*/*/model/model.safetensors"))
    assert len(weights) == 1 + 2  # the starting checkpoint and both methods: bit-identical files
    for path in weights:
        twin = killed / "cache" / path.relative_to(clean / "cache")
        assert hashlib.sha256(twin.read_bytes()).digest() == hashlib.sha256(path.read_bytes()).digest(), path
    dyn = pd.read_csv(killed / "results" / "resume" / "dynamics.csv")
    assert not dyn.duplicated(["model", "step", "kind"]).any()
    for _, g in dyn.groupby(["model", "kind"]):
        assert sorted(g["step"]) == [0, 20, 40, 60]
