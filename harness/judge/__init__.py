"""MT-Bench judging (FastChat's protocol) against any OpenAI-compatible endpoint.

Public API (imported lazily, so `harness.judge.cli` stays light):

    JudgeConfig                                   harness.judge.config
    judge_mt_bench, ajudge_mt_bench, judgment_scores, not_judged_scores,
    load_questions, load_model_answers, load_reference_answers, load_samples,
    write_model_answers, load_judgments, TEMPERATURE_BY_CATEGORY, temperature_for
                                                  harness.judge.mt_bench
    single_results, pairwise_results, (show_result) harness.judge.show_result
    mt_bench_app                                  harness.judge.cli
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "JudgeConfig": "config",
    "JudgeClient": "client",
    "JudgeCall": "client",
    "judge_mt_bench": "mt_bench",
    "ajudge_mt_bench": "mt_bench",
    "judgment_scores": "mt_bench",
    "not_judged_scores": "mt_bench",
    "load_questions": "mt_bench",
    "load_model_answers": "mt_bench",
    "load_reference_answers": "mt_bench",
    "load_samples": "mt_bench",
    "load_judgments": "mt_bench",
    "write_model_answers": "mt_bench",
    "cache_path_for": "mt_bench",
    "TEMPERATURE_BY_CATEGORY": "mt_bench",
    "temperature_for": "mt_bench",
    "SINGLE_METRICS": "mt_bench",
    "PAIRWISE_METRICS": "mt_bench",
    "single_results": "show_result",
    "pairwise_results": "show_result",
    "mt_bench_app": "cli",
    "parse_rating": "parse",
    "parse_pair": "parse",
    "NEED_REF_CATS": "prompts",
    "load_judge_prompts": "prompts",
    "prompt_name": "prompts",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"harness.judge.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'harness.judge' has no attribute {name!r}")
