"""What a person sees: Ctrl-C in the middle of a run says what was kept and how to resume, the
rerun says it resumes, and the leaderboard goes to stdout while progress stays on stderr
(`harness run cfg.yaml > out.txt` leaves the table in out.txt)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = """run_name: terminal
seed: 0
model:
  embedded: {vocab_size: 300, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}
data: {synthetic: {n_sft: 200, n_preference: 8, n_test: 4, max_value: 20}}
sft: {max_steps: 60, batch_size: 16, warmup_steps: 1, max_length: 64}
train: {max_steps: 2, batch_size: 4, max_length: 64, logps_every: 1, probe_pairs: 2}
methods: [sft]
tasks: [{name: synthetic_arith, options: {n_samples: 4}}]
generation: {backend: hf}
analyses: []
"""


def test_ctrl_c_then_resume_and_results_on_stdout(tmp_path):
    cfg = tmp_path / "terminal.yaml"
    cfg.write_text(CONFIG)
    cmd = [sys.executable, "-m", "harness.cli", "run", str(cfg), "--set", f"cache_dir={tmp_path}/cache",
           "--set", f"results_dir={tmp_path}/results"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(tmp_path / "out1", "w") as out, open(tmp_path / "err1", "w") as err:
        # SIG_DFL: a test suite started in the background (`pytest &`) passes on an ignored SIGINT,
        # and Python then never raises KeyboardInterrupt: the run would finish, exit 0
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=err, env=env, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.time() + 600
        while not list((tmp_path / "cache").glob("base/*/trainer")):  # the starting-checkpoint SFT has begun
            assert proc.poll() is None, (tmp_path / "err1").read_text()[-3000:]
            assert time.time() < deadline, "the SFT never started"
            time.sleep(0.5)
        for _ in range(30):  # Python drops a Ctrl-C that lands inside a __del__: a person presses it again,
            os.killpg(proc.pid, signal.SIGINT)  # soon, before the short SFT ends (what Ctrl-C sends to the group)
            try:
                proc.wait(timeout=2)
                break
            except subprocess.TimeoutExpired:
                if "interrupted:" in (tmp_path / "err1").read_text():
                    break  # taken: it is saving what it has; a second Ctrl-C would cut that short
        assert proc.wait(timeout=60) == 130
    err1 = (tmp_path / "err1").read_text()
    assert "interrupted: finished stages and training checkpoints are kept in" in err1
    assert "run the same command again to resume" in err1 and "Traceback" not in err1
    assert (tmp_path / "out1").read_text() == ""

    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "resuming terminal: its last run did not finish" in rerun.stderr
    table = rerun.stdout.strip().splitlines()
    assert table and all(line.startswith("|") for line in table), rerun.stdout  # stdout: the table alone
    assert any(line.startswith("| base") for line in table) and any(line.startswith("| sft") for line in table)
    assert "library output:" in rerun.stderr

    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=900)
    assert again.returncode == 0 and "resuming" not in again.stderr  # the last run finished
    assert again.stdout == rerun.stdout
