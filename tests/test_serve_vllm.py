"""harness.judges.serve_vllm.serve_vllm when the server cannot start: the error quotes its log. (A served
judge that works is tests/mt_bench/test_local_judge.py: SmolLM2 through `judge: {serve: ...}`.)"""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.vllm_env import vllm_importable
from harness.errors import HarnessError
from harness.judges.serve_vllm import engine_flags, serve_vllm

pytestmark = pytest.mark.slow


requires_vllm = pytest.mark.skipif(not vllm_importable(), reason="vllm is not importable")


@requires_vllm
def test_server_that_dies_reports_its_log(tiny_model_dir, tmp_path):
    with pytest.raises(HarnessError) as err:
        with serve_vllm(tiny_model_dir, extra_args=["--no-such-flag"], log_dir=tmp_path, timeout_s=120):
            pass
    msg = str(err.value)
    assert "exited with status" in msg and "no-such-flag" in msg and str(tmp_path) in msg


def test_not_a_model_dir(tmp_path):
    with pytest.raises(HarnessError, match="not a model directory"):
        with serve_vllm(Path(tmp_path)):
            pass


def test_the_server_gets_the_engine_arguments_of_every_engine_as_flags(tiny_model_dir):
    from harness.generate.vllm import engine_args
    flags = engine_flags(engine_args(str(tiny_model_dir), dtype="auto", seed=3, max_model_len=64, enforce_eager=True))
    assert flags[:2] == ["--model", str(tiny_model_dir)]
    value = {flag: flags[i + 1] for i, flag in enumerate(flags[:-1]) if not flags[i + 1].startswith("--")}
    assert value["--seed"] == "3" and value["--max-model-len"] == "64" and value["--tensor-parallel-size"] == "1"
    assert "--enforce-eager" in flags and "--disable-log-stats" in flags
    assert "--enforce-eager" not in engine_flags(engine_args(str(tiny_model_dir), dtype="auto", seed=0,
                                                             enforce_eager=False))
