"""A configured judge that cannot judge stops `harness run` before any training: its key variable
unset, or its endpoint not answering `GET /models`. One line, exit code 2, nothing computed, the
key never printed."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from loopback_judge import LoopbackJudge  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SECRET = "judge-Secret-fail-fast-91"
CONFIG = """run_name: judged
model:
  embedded: {{vocab_size: 400, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}}
data: {{synthetic: {{n_sft: 100, n_preference: 8, n_test: 4, max_value: 20}}}}
sft: {{max_steps: 3, batch_size: 8, warmup_steps: 0, max_length: 64}}
train: {{max_steps: 2, batch_size: 4, max_length: 64, logps_every: 1, probe_pairs: 2}}
methods: [orpo]
tasks: [{{name: mt_bench, options: {{n_questions: 2, max_new_tokens: 8}}}}]
judge: {{base_url: "{url}", model: loopback-judge, api_key_env: {env}}}
cache_dir: {tmp}/cache
results_dir: {tmp}/results
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(tmp_path: Path, url: str, env_name: str, env: dict) -> subprocess.CompletedProcess:
    cfg = tmp_path / "run.yaml"
    cfg.write_text(CONFIG.format(url=url, env=env_name, tmp=tmp_path))
    return subprocess.run([sys.executable, "-m", "harness.cli", "run", str(cfg)], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=300)


@pytest.mark.parametrize("case", ["key_unset", "nothing_listening"])
def test_judge_that_cannot_judge_stops_before_training(tmp_path, case):
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_FF_KEY"}
    if case == "nothing_listening":
        env["HARNESS_FF_KEY"] = SECRET
    proc = _run(tmp_path, f"http://127.0.0.1:{_free_port()}/v1", "HARNESS_FF_KEY", env)
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    expected = "HARNESS_FF_KEY (the judge's API key) is not set" if case == "key_unset" else \
        "judge.base_url: the judge endpoint does not answer GET"
    assert expected in errors[0]
    assert SECRET not in proc.stderr + proc.stdout
    assert not (tmp_path / "cache").exists()  # no stage ran


def test_reachable_judge_passes_the_check():
    from harness.judges.config import JudgeConfig
    with LoopbackJudge() as judge:
        JudgeConfig(base_url=judge.base_url, model="loopback-judge", api_key_env=None).check_reachable()
