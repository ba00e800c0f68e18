"""Prompt choice and template filling against FastChat's own code.

The `_fc_*` functions below are FastChat's (fastchat/llm_judge/common.py `run_judge_single` /
`run_judge_pair`, gen_judgment.py `make_judge_*` and the match split; Apache-2.0), with the API
call cut off: they are the reference our messages must equal, byte for byte.
"""
from __future__ import annotations

import pytest

from harness.judge.config import JudgeConfig
from harness.judge.files import load_model_answers, load_questions, load_reference_answers
from harness.judge.matches import build_matches, normalize_questions, references_for
from harness.judge.prompts import (NEED_REF_CATS, fill_pair, fill_single, load_judge_prompts,
                                   prompt_name, to_messages)

# ---------------------------------------------------------------- FastChat reference code


def _fc_single(question, answer, prompt_template, ref_answer, multi_turn=False):
    kwargs = {}
    if ref_answer is not None:
        kwargs["ref_answer_1"] = ref_answer["choices"][0]["turns"][0]
        if multi_turn:
            kwargs["ref_answer_2"] = ref_answer["choices"][0]["turns"][1]
    if multi_turn:
        user_prompt = prompt_template["prompt_template"].format(
            question_1=question["turns"][0],
            question_2=question["turns"][1],
            answer_1=answer["choices"][0]["turns"][0],
            answer_2=answer["choices"][0]["turns"][1],
            **kwargs,
        )
    else:
        user_prompt = prompt_template["prompt_template"].format(
            question=question["turns"][0],
            answer=answer["choices"][0]["turns"][0],
            **kwargs,
        )
    # conv = get_conversation_template("gpt-4"); conv.set_system_message(system_prompt)
    # conv.to_openai_api_messages():
    messages = [{"role": "system", "content": prompt_template["system_prompt"]},
                {"role": "user", "content": user_prompt}]
    return user_prompt, messages


def _fc_pair(question, answer_a, answer_b, prompt_template, ref_answer, multi_turn=False):
    kwargs = {}
    if ref_answer is not None:
        kwargs["ref_answer_1"] = ref_answer["choices"][0]["turns"][0]
        if multi_turn:
            kwargs["ref_answer_2"] = ref_answer["choices"][0]["turns"][1]
    if multi_turn:
        user_prompt = prompt_template["prompt_template"].format(
            question_1=question["turns"][0],
            question_2=question["turns"][1],
            answer_a_1=answer_a["choices"][0]["turns"][0],
            answer_b_1=answer_b["choices"][0]["turns"][0],
            answer_a_2=answer_a["choices"][0]["turns"][1],
            answer_b_2=answer_b["choices"][0]["turns"][1],
            **kwargs,
        )
    else:
        user_prompt = prompt_template["prompt_template"].format(
            question=question["turns"][0],
            answer_a=answer_a["choices"][0]["turns"][0],
            answer_b=answer_b["choices"][0]["turns"][0],
            **kwargs,
        )
    messages = [{"role": "system", "content": prompt_template["system_prompt"]},
                {"role": "user", "content": user_prompt}]
    return user_prompt, messages


def _fc_judges(prompts, mode):
    if mode == "single":
        return {"default": prompts["single-v1"], "math": prompts["single-math-v1"],
                "default-mt": prompts["single-v1-multi-turn"],
                "math-mt": prompts["single-math-v1-multi-turn"]}
    return {"default": prompts["pair-v2"], "math": prompts["pair-math-v1"],
            "default-mt": prompts["pair-v2-multi-turn"],
            "math-mt": prompts["pair-math-v1-multi-turn"]}


def _wrap(turns):
    return {"choices": [{"index": 0, "turns": turns}]}


# ---------------------------------------------------------------- tests


def test_fastchat_constants():
    assert NEED_REF_CATS == ("math", "reasoning", "coding", "arena-hard-200")
    names = set(load_judge_prompts())
    assert {"single-v1", "single-math-v1", "single-v1-multi-turn", "single-math-v1-multi-turn",
            "pair-v2", "pair-math-v1", "pair-v2-multi-turn", "pair-math-v1-multi-turn"} <= names


@pytest.mark.parametrize("category,mode,multi,expected", [
    ("writing", "single", False, "single-v1"),
    ("writing", "single", True, "single-v1-multi-turn"),
    ("math", "single", False, "single-math-v1"),
    ("reasoning", "single", True, "single-math-v1-multi-turn"),
    ("coding", "single", False, "single-math-v1"),
    ("stem", "single", True, "single-v1-multi-turn"),
    ("humanities", "pairwise", False, "pair-v2"),
    ("roleplay", "pairwise", True, "pair-v2-multi-turn"),
    ("math", "pairwise", False, "pair-math-v1"),
    ("coding", "pairwise", True, "pair-math-v1-multi-turn"),
    ("extraction", "pairwise", True, "pair-v2-multi-turn"),
])
def test_prompt_choice(category, mode, multi, expected):
    assert prompt_name(category, mode, multi) == expected


@pytest.mark.parametrize("mode", ["single", "pairwise"])
def test_all_messages_equal_fastchat(mode):
    """Every match on the real data: same prompt and same messages as FastChat would send."""
    prompts = load_judge_prompts()
    questions = load_questions()
    answers = load_model_answers()
    refs = load_reference_answers()
    cfg = JudgeConfig(base_url="http://127.0.0.1:1/v1", model="gpt-4", api_key_env=None,
                      mode=mode, baseline_model="gpt-3.5-turbo" if mode == "pairwise" else None)
    qs = normalize_questions(questions)
    matches = build_matches(cfg, qs, answers, references_for(qs, refs), prompts)
    judges = _fc_judges(prompts, mode)
    by_qid = {q["question_id"]: q for q in questions}
    n_models = 3 if mode == "single" else 2
    assert len(matches) == 80 * 2 * n_models
    for m in matches:
        q = by_qid[m.qid]
        multi = m.turn == 2
        math = q["category"] in NEED_REF_CATS
        judge = judges[("math" if math else "default") + ("-mt" if multi else "")]
        assert m.prompt["name"] == judge["name"]
        ref = _wrap(refs[m.qid]) if math else None
        if mode == "single":
            up, msgs = _fc_single(q, _wrap(answers[m.models[0]][m.qid]), judge, ref, multi)
            assert [g.messages for g in m.games] == [msgs]
            assert m.games[0].user_prompt == up
        else:
            a1, a2 = _wrap(answers[m.models[0]][m.qid]), _wrap(answers[m.models[1]][m.qid])
            g1 = _fc_pair(q, a1, a2, judge, ref, multi)
            g2 = _fc_pair(q, a2, a1, judge, ref, multi)  # play_a_match_pair: game 2 swapped
            assert [g.messages for g in m.games] == [g1[1], g2[1]]
        assert m.judge == ["gpt-4", judge["name"]]


def test_turn2_holds_turn1_and_own_answers():
    prompts = load_judge_prompts()
    q = ["Q-one {with braces}", "Q-two"]
    a = ["A-one {x}", "A-two"]
    up = fill_single(prompts["single-v1-multi-turn"], q, a, None, multi_turn=True)
    pos = [up.index(s) for s in ("### User:\nQ-one {with braces}", "### Assistant A:\nA-one {x}",
                                 "### User:\nQ-two", "### Assistant A:\nA-two")]
    assert pos == sorted(pos)
    ref = ["R-one", "R-two"]
    up = fill_single(prompts["single-math-v1-multi-turn"], q, a, ref, multi_turn=True)
    assert "### Reference answer:\nR-one" in up and "### Reference answer:\nR-two" in up
    assert up.index("R-two") < up.index("A-one {x}")  # reference block first, as in FastChat


def test_single_turn_template_by_hand():
    p = load_judge_prompts()["single-v1"]
    up = fill_single(p, ["What?"], ["That."])
    expected = (p["prompt_template"].split("[Question]")[0]
                + "[Question]\nWhat?\n\n[The Start of Assistant's Answer]\nThat.\n"
                  "[The End of Assistant's Answer]")
    assert up == expected
    assert to_messages(p, up) == [{"role": "system", "content": "You are a helpful assistant."},
                                  {"role": "user", "content": expected}]


def test_pair_template_sides():
    p = load_judge_prompts()["pair-math-v1"]
    up = fill_pair(p, ["2+2?"], ["four"], ["five"], ["4"])
    assert up.index("[The Start of Reference Answer]\n4\n") < up.index("four") < up.index("five")
    assert "[The Start of Assistant A's Answer]\nfour\n" in up
    assert "[The Start of Assistant B's Answer]\nfive\n" in up
