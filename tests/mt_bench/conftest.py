"""Fixtures for the MT-Bench judge tests: a real loopback OpenAI-compatible server, a judge
config pointing at it, and the API key in an environment variable."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for loopback_judge

from loopback_judge import LoopbackJudge  # noqa: E402

from harness.judges.config import JudgeConfig  # noqa: E402

KEY_ENV = "HARNESS_TEST_JUDGE_KEY"
# Not shaped like an OpenAI key, so only the explicit redaction of the known value can hide it.
SECRET = "loopback-Secret-7f3a9c2e41d8"


@pytest.fixture
def loopback():
    """A started loopback judge (no latency, no faults); stopped after the test."""
    srv = LoopbackJudge().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def judge_key(monkeypatch) -> str:
    """The secret, set in the environment variable named by `judge_key_env`."""
    monkeypatch.setenv(KEY_ENV, SECRET)
    return SECRET


@pytest.fixture
def judge_key_env() -> str:
    return KEY_ENV


@pytest.fixture
def make_cfg(loopback, judge_key):
    """JudgeConfig against the loopback server, fast retries; keyword overrides."""

    def make(**kw) -> JudgeConfig:
        base = dict(base_url=loopback.base_url, model="gpt-4", api_key_env=KEY_ENV,
                    concurrency=8, max_retries=2, timeout_s=5.0, backoff_base_s=0.005,
                    backoff_max_s=0.02)
        base.update(kw)
        return JudgeConfig(**base)

    return make
