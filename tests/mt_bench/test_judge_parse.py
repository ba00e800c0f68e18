"""Verdict parsing, by FastChat's one_score_pattern / backup and [[A]]/[[B]]/[[C]] rules."""
from __future__ import annotations

import pytest

from harness.mt_bench.parse import parse_pair, parse_rating


@pytest.mark.parametrize("text,expected", [
    ("Good answer. Rating: [[7]]", 7),
    ("Rating: [[7.5]]", 7.5),
    ("Rating: [[10]]", 10),
    ("First [[8]] then [[3]]", 8),                 # first match
    ("Backup only: Rating: [6]", 6),               # one_score_pattern_backup
    ("see [2] ... final [[9]]", 9),                # [[x]] wins over an earlier [x]
    ("Rating: [[ 7 ]]", -1),                       # FastChat's pattern allows no spaces
    ("Rating: 7/10", -1),
    ("", -1),
    ("Rating: [[07]]", 7.0),                       # literal_eval would raise; float fallback
])
def test_parse_rating(text, expected):
    rating, reason = parse_rating(text)
    assert rating == expected
    assert (reason != "") == (expected == -1)


def test_parse_rating_types_follow_literal_eval():
    assert isinstance(parse_rating("[[7]]")[0], int)
    assert isinstance(parse_rating("[[7.0]]")[0], float)
    assert parse_rating(None) == (-1, "judge returned no text")


@pytest.mark.parametrize("text,expected", [
    ("verdict: [[A]]", "A"),
    ("verdict: [[B]]", "B"),
    ("verdict: [[C]]", "tie"),
    ("[[B]] ... but finally [[A]]", "A"),          # FastChat checks A, then B, then C
    ("[[C]] or [[B]]", "B"),
    ("verdict: [A]", "error"),                     # FastChat has no single-bracket backup here
    ("no verdict", "error"),
])
def test_parse_pair(text, expected):
    winner, reason = parse_pair(text)
    assert winner == expected
    assert (reason != "") == (expected == "error")


@pytest.mark.parametrize("text,expected", [
    ("[[8, 6]]", "A"), ("[[6,8]]", "B"), ("[[7.05, 7]]", "tie"), ("[5, 9]", "B"), ("none", "error"),
])
def test_parse_two_scores(text, expected):
    assert parse_pair(text, "[[rating_a,rating_b]]")[0] == expected
