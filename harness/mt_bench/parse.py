"""Reading a verdict out of a judge's text, by FastChat's rules (fastchat/llm_judge/common.py).

* ``[[rating]]`` prompts: the first ``[[x]]`` (``one_score_pattern``), else the first ``[x]``
  (``one_score_pattern_backup``); nothing -> -1.
* ``[[A]]`` prompts: ``"[[A]]" in text`` -> A, else ``[[B]]`` -> B, else ``[[C]]`` -> tie, else
  error (checked in that order, as FastChat does: FastChat has no single-bracket backup here).
* ``[[rating_a,rating_b]]`` prompts (pair-v1, not in MT-Bench's prompt file but supported):
  ``two_score_pattern`` then its backup; |a-b| <= TIE_DELTA is a tie.

One deviation, for robustness: FastChat reads the number with ``ast.literal_eval``, which raises
on a leading zero (``[[07]]``); we fall back to ``float`` there instead of crashing.
"""
from __future__ import annotations

import ast
import re

TIE_DELTA = 0.1

one_score_pattern = re.compile(r"\[\[(\d+\.?\d*)\]\]")
one_score_pattern_backup = re.compile(r"\[(\d+\.?\d*)\]")
two_score_pattern = re.compile(r"\[\[(\d+\.?\d*),\s?(\d+\.?\d*)\]\]")
two_score_pattern_backup = re.compile(r"\[(\d+\.?\d*),\s?(\d+\.?\d*)\]")


def _number(s: str) -> float | int:
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError):
        return float(s)


def parse_rating(judgment: str | None) -> tuple[float | int, str]:
    """(rating, reason): rating -1 with a reason when the text holds no rating."""
    if judgment is None:
        return -1, "judge returned no text"
    match = re.search(one_score_pattern, judgment)
    if not match:
        match = re.search(one_score_pattern_backup, judgment)
    if match:
        return _number(match.groups()[0]), ""
    return -1, "no [[rating]] in judge output"


def parse_pair(judgment: str | None, output_format: str = "[[A]]") -> tuple[str, str]:
    """(winner, reason) with winner in {"A", "B", "tie", "error"}."""
    if judgment is None:
        return "error", "judge returned no text"
    if output_format == "[[A]]":
        if "[[A]]" in judgment:
            return "A", ""
        if "[[B]]" in judgment:
            return "B", ""
        if "[[C]]" in judgment:
            return "tie", ""
        return "error", "no [[A]]/[[B]]/[[C]] verdict in judge output"
    if output_format == "[[rating_a,rating_b]]":
        match = re.search(two_score_pattern, judgment)
        if not match:
            match = re.search(two_score_pattern_backup, judgment)
        if not match:
            return "error", "no [[rating_a,rating_b]] in judge output"
        a, b = (_number(s.strip()) for s in match.groups())
        if abs(a - b) <= TIE_DELTA:
            return "tie", ""
        return ("A" if a > b else "B"), ""
    raise ValueError(f"invalid output format: {output_format}")
