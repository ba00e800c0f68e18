"""MT-Bench judging (FastChat's protocol) against any OpenAI-compatible endpoint.

Public API (imported lazily, so `harness.judge.cli` stays light):

    JudgeConfig                                   harness.judge.config
    load_questions, load_model_answers, load_reference_answers, load_samples,
    write_model_answers, load_judgments, TEMPERATURE_BY_CATEGORY, temperature_for
                                                  harness.judge.files (FastChat's formats)
    judge_mt_bench, ajudge_mt_bench, cache_path_for harness.judge.runner
    judgment_scores, not_judged_scores            harness.judge.scores
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
    "judge_mt_bench": "runner",
    "ajudge_mt_bench": "runner",
    "judgment_scores": "scores",
    "not_judged_scores": "scores",
    "load_questions": "files",
    "load_model_answers": "files",
    "load_reference_answers": "files",
    "load_samples": "files",
    "load_judgments": "files",
    "write_model_answers": "files",
    "cache_path_for": "runner",
    "TEMPERATURE_BY_CATEGORY": "files",
    "temperature_for": "files",
    "SINGLE_METRICS": "scores",
    "PAIRWISE_METRICS": "scores",
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
