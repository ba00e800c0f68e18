"""The Ray executor on a real local Ray instance (127.0.0.1) against the local executor.

One run of three methods with each executor, from separate caches: the Ray run, whose first
training worker is killed with SIGKILL mid-job, must finish (Ray retries the job, which resumes
from its stage folder) with the same scores, answers and trained checkpoints (log-probs of the
held-out pairs) as the local run.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = """run_name: tiny
model:
  embedded: {vocab_size: 300, hidden_size: 64, num_layers: 2, num_heads: 2, intermediate_size: 128}
data:
  synthetic: {n_sft: 200, n_preference: 16, n_test: 6, max_value: 20}
sft: null  # the embedded model as built is the starting checkpoint
train: {max_steps: 6, batch_size: 8, learning_rate: 1.0e-4, max_length: 64, logps_every: 3, probe_pairs: 4}
methods: [sft, dpo, asft]
tasks:
  - {name: synthetic_arith, options: {n_samples: 6}}
generation: {backend: hf}
"""


def _harness(tmp: Path, name: str, *extra: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", "run", str(tmp / "tiny.yaml"), "--set",
                           f"cache_dir={tmp}/cache-{name}", "--set", f"results_dir={tmp}/{name}", *extra],
                          capture_output=True, text=True, cwd=REPO, timeout=timeout)


def _kill_first_training_worker(tmp: Path, killed: list) -> None:
    """SIGKILL the first Ray worker whose title says it runs a training job, a moment after it
    starts, while it is still training (its stage not done); note what was killed."""
    deadline = time.time() + 400
    while time.time() < deadline and not killed:
        ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
        workers = [line.split(None, 1) for line in ps.splitlines() if "ray::train:" in line]
        if workers:
            time.sleep(1.0)
            done = len(list((tmp / "cache-ray" / "train").glob("*/DONE")))
            os.kill(int(workers[0][0]), signal.SIGKILL)
            killed.append((workers[0][1].strip(), done))
            return
        time.sleep(0.2)


@pytest.mark.timeout(900)
def test_ray_executor_matches_local_and_retries_a_killed_worker(tmp_path):
    pytest.importorskip("ray")
    (tmp_path / "tiny.yaml").write_text(CONFIG)
    local = _harness(tmp_path, "local")
    assert local.returncode == 0, local.stderr[-2000:]
    killed: list = []
    killer = threading.Thread(target=_kill_first_training_worker, args=(tmp_path, killed))
    killer.start()
    on_ray = _harness(tmp_path, "ray", "--executor", "ray")
    killer.join()
    assert on_ray.returncode == 0, on_ray.stderr[-2000:]
    assert killed and killed[0][0].startswith("ray::train:") and killed[0][1] < 3, killed
    a, b = tmp_path / "local" / "tiny", tmp_path / "ray" / "tiny"
    for name in ("scores.csv", "token_logps.csv", "pair_logps.csv", "dynamics.csv"):
        assert pd.read_csv(a / name).equals(pd.read_csv(b / name)), name
    for model in ("base", "sft", "dpo", "asft"):
        turns = [[json.loads(line)["choices"][0]["turns"] for line in (run / "answers" / "synthetic_arith" /
                                                                      f"{model}.jsonl").read_text().splitlines()]
                 for run in (a, b)]
        assert turns[0] == turns[1], model
    manifest = json.loads((b / "manifest.json").read_text())
    assert {"base", "train:sft", "train:dpo", "train:asft"} <= set(manifest["computed_this_run"])
    again = _harness(tmp_path, "ray")  # the same keys, all done: the local executor recomputes nothing
    assert again.returncode == 0 and json.loads((b / "manifest.json").read_text())["computed_this_run"] == []


@pytest.mark.parametrize("args, expected", [
    (["--executor", "rya"], "unknown executor 'rya' (did you mean 'ray'?)"),
    (["--executor", "ray", "--ray-address", "127.0.0.1:9"], "Ray address 127.0.0.1:9 does not answer"),
    (["--ray-address", "127.0.0.1:6379"], "--ray-address needs --executor ray"),
])
def test_bad_executor_input_one_line_nothing_run(tmp_path, args, expected):
    from typer.testing import CliRunner

    from harness.cli import app
    (tmp_path / "tiny.yaml").write_text(CONFIG)
    result = CliRunner().invoke(app, ["run", str(tmp_path / "tiny.yaml"), "--set", f"cache_dir={tmp_path}/cache-x",
                                      "--set", f"results_dir={tmp_path}/x", *args])
    assert result.exit_code == 2 and expected in result.stderr, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "cache-x").exists()


def test_ray_missing_is_one_line(monkeypatch):
    import importlib.util

    from harness.errors import HarnessError
    from harness.executors.ray import RayExecutor
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(HarnessError, match=r"needs Ray: pip install 'harness\[ray\]'"):
        RayExecutor().check()
