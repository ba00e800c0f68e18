"""Exact match of the final answer.

A task may declare how to extract the final answer (`meta["answer"]` holds the gold value and
answers are searched for the last ``ans <value>`` marker); otherwise the whole stripped answer is
compared with the reference.
"""
from __future__ import annotations

import re

from harness.metrics.base import Metric, metric
from harness.types import SampleScore

_ANSWER = re.compile(r"ans\s*(-?\d+)")


def extract_answer(text: str) -> str | None:
    found = _ANSWER.findall(text)
    return found[-1] if found else None


@metric
class ExactMatch(Metric):
    name = "exact_match"

    def score(self, answers, samples):
        out = []
        for ans, s in zip(answers, samples):
            final = ans[-1] if ans else ""
            if "answer" in s.meta:
                ok = extract_answer(final) == str(s.meta["answer"])
            else:
                ok = final.strip() == (s.references[-1].strip() if s.references else "")
            out.append(SampleScore(s.id, self.name, 100.0 if ok else 0.0))
        return out
