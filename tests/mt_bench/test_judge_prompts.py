"""Prompt choice, template filling and loading against FastChat's own code (fschat, a dependency):
its loaders, constants, `make_judge_*` and `run_judge_single` / `run_judge_pair`, whose API call
is replaced by a recorder, are the oracle our messages must equal byte for byte."""
from __future__ import annotations

import gzip
from types import SimpleNamespace

import pytest

from harness.judges.config import JudgeConfig
from harness.mt_bench.fastchat_files import (MODEL_ANSWER_DIR, QUESTION_FILE, REFERENCE_FILE, TEMPERATURE_BY_CATEGORY,
                                 load_model_answers, load_questions, load_reference_answers)
from harness.mt_bench.matches import build_matches, normalize_questions, references_for
from harness.mt_bench.prompts import (MT_BENCH_DIR, NEED_REF_CATS, fill_pair, fill_single, load_judge_prompts,
                                   prompt_name, to_messages)

# ---------------------------------------------------------------- FastChat itself as the oracle


@pytest.fixture(scope="module")
def fastchat(tmp_path_factory):
    """FastChat's llm_judge (common.py, gen_judgment.py) and its loaders' view of the shipped
    files; model answers are gunzipped for it (its load_model_answers reads plain .jsonl only)."""
    from fastchat.llm_judge import common, gen_judgment
    plain = tmp_path_factory.mktemp("fastchat_answers")
    for path in MODEL_ANSWER_DIR.glob("*.jsonl.gz"):
        (plain / path.name[:-3]).write_bytes(gzip.decompress(path.read_bytes()))
    return SimpleNamespace(common=common, gen_judgment=gen_judgment,
                           questions=common.load_questions(str(QUESTION_FILE), None, None),
                           answers=common.load_model_answers(str(plain)),
                           refs=common.load_model_answers(str(REFERENCE_FILE.parent))["gpt-4"],
                           prompts=common.load_judge_prompts(str(MT_BENCH_DIR / "judge_prompts.jsonl")))


def _fastchat_sends(fastchat, monkeypatch, run, *args, **kwargs) -> list[list[dict]]:
    """The messages FastChat's run_judge_single / run_judge_pair send to the judge API."""
    sent = []

    def api(model, conv, temperature, max_tokens, api_dict=None):
        sent.append(conv.to_openai_api_messages())
        return "[[A]]"
    monkeypatch.setattr(fastchat.common, "chat_completion_openai", api)
    run(*args, **kwargs)
    return sent


# ---------------------------------------------------------------- tests


def test_fastchat_constants(fastchat):
    from harness.mt_bench import parse
    assert NEED_REF_CATS == tuple(fastchat.common.NEED_REF_CATS)
    assert TEMPERATURE_BY_CATEGORY == fastchat.common.temperature_config
    assert parse.TIE_DELTA == fastchat.common.TIE_DELTA
    for name in ("one_score_pattern", "one_score_pattern_backup", "two_score_pattern", "two_score_pattern_backup"):
        assert getattr(parse, name).pattern == getattr(fastchat.common, name).pattern, name
    assert load_judge_prompts() == fastchat.prompts


def test_loaders_read_what_fastchats_read(fastchat):
    assert load_questions() == fastchat.questions
    assert load_model_answers() == {m: {qid: a["choices"][0]["turns"] for qid, a in rows.items()}
                                    for m, rows in fastchat.answers.items()}
    assert load_reference_answers() == {qid: a["choices"][0]["turns"] for qid, a in fastchat.refs.items()}


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
def test_all_messages_equal_fastchat(mode, fastchat, monkeypatch):
    """Every match on the real data: the same prompt and the same messages as FastChat's own
    run_judge_single / run_judge_pair send (its API call replaced by a recorder)."""
    prompts = load_judge_prompts()
    cfg = JudgeConfig(base_url="http://127.0.0.1:1/v1", model="gpt-4", api_key_env=None,
                      mode=mode, baseline_model="gpt-3.5-turbo" if mode == "pairwise" else None)
    qs = normalize_questions(load_questions())
    matches = build_matches(cfg, qs, load_model_answers(), references_for(qs, load_reference_answers()), prompts)
    make = fastchat.gen_judgment.make_judge_single if mode == "single" else fastchat.gen_judgment.make_judge_pairwise
    judges = make("gpt-4", fastchat.prompts)
    by_qid = {q["question_id"]: q for q in fastchat.questions}
    n_models = 3 if mode == "single" else 2
    assert len(matches) == 80 * 2 * n_models
    for m in matches:
        q = by_qid[m.qid]
        multi = m.turn == 2
        need_ref = q["category"] in fastchat.common.NEED_REF_CATS
        judge = judges[("math" if need_ref else "default") + ("-mt" if multi else "")]
        assert m.prompt["name"] == judge.prompt_template["name"]
        ref = fastchat.refs[m.qid] if need_ref else None
        answers = [fastchat.answers[model][m.qid] for model in m.models]
        if mode == "single":
            sent = _fastchat_sends(fastchat, monkeypatch, fastchat.common.run_judge_single, q, answers[0], judge,
                                   ref, multi_turn=multi)
        else:  # play_a_match_pair: game 2 has the answers swapped
            sent = (_fastchat_sends(fastchat, monkeypatch, fastchat.common.run_judge_pair, q, answers[0], answers[1],
                                    judge, ref, multi_turn=multi) +
                    _fastchat_sends(fastchat, monkeypatch, fastchat.common.run_judge_pair, q, answers[1], answers[0],
                                    judge, ref, multi_turn=multi))
        assert [g.messages for g in m.games] == sent
        assert m.judge == ["gpt-4", judge.prompt_template["name"]]


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
