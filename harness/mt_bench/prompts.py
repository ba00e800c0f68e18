"""MT-Bench judge prompts: FastChat's `judge_prompts.jsonl`, chosen and filled as FastChat does.

Rules reproduced from fastchat/llm_judge (common.py `run_judge_single` / `run_judge_pair`,
gen_judgment.py `make_judge_single` / `make_judge_pairwise`):

* questions whose category is in NEED_REF_CATS are graded against a reference answer
  (``*-math-v1`` prompts), the others with ``single-v1`` / ``pair-v2``;
* turn 2 uses the ``*-multi-turn`` prompt, whose template holds question 1, the model's own
  answer 1, question 2 and answer 2 (and both reference turns for reference-guided prompts);
* the messages sent are FastChat's ``chatgpt`` conversation: the prompt's system message
  (when non-empty) then one user message with the filled template.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Literal

from harness.errors import HarnessError
from harness.tasks import data_dir

MT_BENCH_DIR = data_dir() / "mt_bench"
DEFAULT_JUDGE_PROMPTS = MT_BENCH_DIR / "judge_prompts.jsonl"

# fastchat.llm_judge.common.NEED_REF_CATS (arena-hard-200 is FastChat's too; MT-Bench's 80
# questions use only the first three).
NEED_REF_CATS = ("math", "reasoning", "coding", "arena-hard-200")

Mode = Literal["single", "pairwise"]

Messages = list[dict[str, str]]


@functools.lru_cache(maxsize=8)
def _load(path: str) -> dict[str, dict]:
    prompts: dict[str, dict] = {}
    p = Path(path)
    if not p.exists():
        raise HarnessError("judge prompt file not found", file=p)
    for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            prompts[row["name"]] = row
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise HarnessError(f"bad judge prompt ({type(exc).__name__})", file=p, row=i) from None
    return prompts


def load_judge_prompts(path: str | Path | None = None) -> dict[str, dict]:
    """FastChat's ``load_judge_prompts``: {name: prompt row}. Default: the shipped file."""
    return dict(_load(str(Path(path or DEFAULT_JUDGE_PROMPTS).resolve())))


def needs_reference(category: str) -> bool:
    return category in NEED_REF_CATS


def prompt_name(category: str, mode: Mode, multi_turn: bool) -> str:
    """Which judge prompt FastChat uses for a question of this category at this turn."""
    if mode == "single":
        base = "single-math-v1" if needs_reference(category) else "single-v1"
    elif mode == "pairwise":
        base = "pair-math-v1" if needs_reference(category) else "pair-v2"
    else:
        raise HarnessError(f"unknown judge mode {mode!r}", field="judge.mode")
    return base + ("-multi-turn" if multi_turn else "")


def _ref_kwargs(ref_turns: list[str] | None, multi_turn: bool) -> dict[str, str]:
    kwargs: dict[str, str] = {}
    if ref_turns is not None:
        kwargs["ref_answer_1"] = ref_turns[0]
        if multi_turn:
            kwargs["ref_answer_2"] = ref_turns[1]
    return kwargs


def to_messages(prompt: dict, user_prompt: str) -> Messages:
    """FastChat's chatgpt conversation -> ``to_openai_api_messages()``."""
    system = prompt["system_prompt"]
    msgs: Messages = [] if system == "" else [{"role": "system", "content": system}]
    msgs.append({"role": "user", "content": user_prompt})
    return msgs


def fill_single(prompt: dict, question_turns: list[str], answer_turns: list[str],
                ref_turns: list[str] | None = None, multi_turn: bool = False) -> str:
    """The user prompt of ``run_judge_single``. `ref_turns` only for reference-based prompts."""
    kwargs = _ref_kwargs(ref_turns, multi_turn)
    if multi_turn:
        return prompt["prompt_template"].format(
            question_1=question_turns[0], question_2=question_turns[1],
            answer_1=answer_turns[0], answer_2=answer_turns[1], **kwargs)
    return prompt["prompt_template"].format(
        question=question_turns[0], answer=answer_turns[0], **kwargs)


def fill_pair(prompt: dict, question_turns: list[str], answer_a: list[str], answer_b: list[str],
              ref_turns: list[str] | None = None, multi_turn: bool = False) -> str:
    """The user prompt of ``run_judge_pair`` (A and B as given: the caller swaps for game 2)."""
    kwargs = _ref_kwargs(ref_turns, multi_turn)
    if multi_turn:
        return prompt["prompt_template"].format(
            question_1=question_turns[0], question_2=question_turns[1],
            answer_a_1=answer_a[0], answer_b_1=answer_b[0],
            answer_a_2=answer_a[1], answer_b_2=answer_b[1], **kwargs)
    return prompt["prompt_template"].format(
        question=question_turns[0], answer_a=answer_a[0], answer_b=answer_b[0], **kwargs)
