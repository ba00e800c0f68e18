"""A real vLLM OpenAI-compatible server (harness.serve.serve_vllm) as the MT-Bench judge.

The tiny checkpoint is served and judges three MT-Bench questions (two turns each, one math
question graded against the reference) answered by gpt-3.5-turbo from the shipped answers. Its
text is garbage, so scores mean nothing; what is checked is the path: every request reaches the
server and is answered, every judgment ends as a parsed score or an error with a reason, and the
judgment file is FastChat's model_judgment format (read back with FastChat's own loader).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.judge.config import JudgeConfig
from harness.judge.mt_bench import judge_mt_bench, load_model_answers, load_questions
from harness.serve import serve_vllm

pytestmark = pytest.mark.slow

QIDS = [81, 111, 131]  # writing, math (reference-guided), extraction
FASTCHAT_SINGLE = {"question_id", "model", "judge", "user_prompt", "judgment", "score", "turn", "tstamp"}
EXTRA = {"status", "reason", "usage", "latency_s", "cost_usd", "cached"}
CHAT_OK = '"POST /v1/chat/completions HTTP/1.1" 200'


def _vllm_importable() -> bool:
    try:
        import vllm  # noqa: F401
        return True
    except Exception:  # noqa: BLE001
        return False


def _load_single_model_judgments(path: Path) -> dict:
    """fastchat.llm_judge.common.load_single_model_judgments (fschat 0.2.36), line for line."""
    judge_dict: dict = {}
    for line in open(path):
        obj = json.loads(line)
        judge = tuple(obj["judge"])
        qid, model = obj["question_id"], obj["model"]
        if judge not in judge_dict:
            judge_dict[judge] = {}
        gamekey = (qid, model)
        judge_dict[judge][gamekey] = {"score": obj["score"], "judgment": obj["judgment"]}
    return judge_dict


requires_vllm = pytest.mark.skipif(not _vllm_importable(), reason="vllm is not importable")


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    # The judge prompts (thousands of tokens with the tiny tokenizer) exceed the checkpoint's
    # 512 positions; RoPE extends, so allow a longer context rather than have every call fail.
    log_dir = tmp_path_factory.mktemp("vllm-server")
    with serve_vllm(tiny_model_dir, extra_args=["--max-model-len", "16384", "--enforce-eager"],
                    served_model_name="tiny-judge", env={"VLLM_ALLOW_LONG_MAX_MODEL_LEN": "1"},
                    log_dir=log_dir, timeout_s=240) as url:
        yield url


@requires_vllm
def test_served_tiny_model_judges_mt_bench(server, tmp_path):
    assert server.startswith("http://127.0.0.1:") and server.endswith("/v1")
    assert server.model == "tiny-judge"
    cfg = JudgeConfig(base_url=server, model=server.model, api_key_env=None, max_tokens=32,
                      concurrency=4, max_retries=1, timeout_s=120, backoff_base_s=0.05, backoff_max_s=0.1)
    questions = [q for q in load_questions() if q["question_id"] in QIDS]
    source = load_model_answers()["gpt-3.5-turbo"]
    answers = {"gpt-3.5-turbo": {q: source[q] for q in QIDS}}
    out = tmp_path / "model_judgment" / "tiny-judge_single.jsonl"
    before = server.log_text().count(CHAT_OK)

    recs = judge_mt_bench(cfg, questions, answers, None, out, progress=False)

    assert len(recs) == len(QIDS) * 2
    for r in recs:
        assert set(r) == FASTCHAT_SINGLE | EXTRA
        assert r["model"] == "gpt-3.5-turbo" and r["judge"][0] == "tiny-judge"
        assert r["judge"][1].endswith("multi-turn") == (r["turn"] == 2)
        assert ("math" in r["judge"][1]) == (r["question_id"] == 111)
        if r["status"] == "ok":
            assert isinstance(r["score"], (int, float)) and 1 <= r["score"] <= 10 and r["reason"] == ""
        else:
            assert r["status"] == "error" and r["reason"] and r["score"] == -1
        # answered by the server (a completion was generated), whatever the text says
        assert r["usage"]["prompt_tokens"] > 1000 and 0 < r["usage"]["completion_tokens"] <= 32
        assert r["judgment"] != "$ERROR$"
    # every judgment went over HTTP to the served model and got a 200
    assert server.log_text().count(CHAT_OK) - before == len(recs)

    on_disk = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(on_disk) == len(recs)
    assert all(set(r) == FASTCHAT_SINGLE | EXTRA for r in on_disk)
    loaded = _load_single_model_judgments(out)
    try:  # FastChat's own reader, where fschat is installed
        from fastchat.llm_judge.common import load_single_model_judgments
    except ImportError:
        pass
    else:
        assert load_single_model_judgments(str(out)) == loaded
    assert set(loaded) == {("tiny-judge", "single-v1"), ("tiny-judge", "single-math-v1"),
                           ("tiny-judge", "single-v1-multi-turn"), ("tiny-judge", "single-math-v1-multi-turn")}
    assert sum(len(v) for v in loaded.values()) == len(recs)


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
