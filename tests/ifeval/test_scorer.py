"""The harness's IFEval scorer against verdicts the reference scorer gave (golden.jsonl.gz, made
by scripts/ifeval_agreement.py: real model answers, the reference's GPT-4 answers and edited,
adversarial versions of both), plus the offline Punkt model and the determinism fixes."""
import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from harness.ifeval.data import load_prompts

GOLDEN = Path(__file__).parent / "golden.jsonl.gz"


@pytest.fixture(scope="module")
def prompts():
    return {p.key: p for p in load_prompts()}


def test_prompts_are_the_references(prompts):
    assert len(prompts) == 541
    kinds = Counter(i for p in prompts.values() for i in p.instruction_id_list)
    assert len(kinds) == 25 and sum(kinds.values()) == 834


def test_verdicts_equal_the_references(prompts):
    from harness.ifeval.scorer import judge
    rows = [json.loads(line) for line in gzip.open(GOLDEN, "rt", encoding="utf-8")]
    assert len(rows) >= 300
    assert len({i for r in rows for i in prompts[r["key"]].instruction_id_list}) == 25  # every kind
    assert any(r["response"] == "" for r in rows) and any(not r["response"].isascii() for r in rows)
    differing = []
    for r in rows:
        for mode in ("strict", "loose"):
            ours = judge(prompts[r["key"]], r["response"], loose=mode == "loose").follow_instruction_list
            if list(ours) != r[mode]:
                differing.append((r["key"], mode, r[mode], list(ours)))
    assert differing == []


def test_letter_frequency_counts_the_character_asked_for(prompts):
    """Key 1122 asks for at least 4 '#': the reference counts '#' (lm-eval's port would draw a
    random letter instead, so its verdict changed from run to run)."""
    from harness.ifeval.scorer import judge
    p = prompts[1122]
    i = p.instruction_id_list.index("keywords:letter_frequency")
    tweet = "go vote today friends #vote #democracy #election #now"
    for _ in range(5):
        assert judge(p, tweet, False).follow_instruction_list[i] is True
        assert judge(p, tweet.replace("#", ""), False).follow_instruction_list[i] is False


def test_language_detection_is_seeded(prompts):
    import langdetect

    from harness.ifeval.scorer import _registry, judge
    _registry()
    assert langdetect.DetectorFactory.seed == 0
    p = prompts[1108]  # "respond using only the Kannada language"
    mixed = "ಹೌದು ok yes ಇಲ್ಲ maybe"
    assert len({judge(p, mixed, False).follow_all_instructions for _ in range(10)}) == 1


def test_punkt_is_nltks_english_model_offline(monkeypatch):
    import nltk

    from harness.ifeval import punkt
    monkeypatch.setattr(nltk, "download", lambda *a, **k: pytest.fail("NLTK tried to download"))
    root = punkt.install()
    assert nltk.data.path[0] == str(root)
    from nltk.tokenize.punkt import PunktTokenizer
    params = PunktTokenizer("english")._params
    assert (len(params.abbrev_types), len(params.collocations), len(params.sent_starters),
            len(params.ortho_context)) == (156, 37, 39, 20366)
    text = "Mr. Smith arrived at 3 p.m. on Monday. He left! Did he? Dr. Jones, Ph.D., stayed."
    assert nltk.sent_tokenize(text) == ["Mr. Smith arrived at 3 p.m. on Monday.", "He left!", "Did he?",
                                        "Dr. Jones, Ph.D., stayed."]
    from harness.ifeval.scorer import _registry
    _registry()
    from lm_eval.tasks.ifeval import instructions_util
    assert instructions_util.count_sentences(text) == 4
