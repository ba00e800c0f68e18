"""GSM8K (openai/grade-school-math) worked solutions as near-miss and far-miss preference pairs.

A GSM8K record is ``{"question": ..., "answer": ...}``; the answer is a worked solution whose
arithmetic is marked for a calculator (``48/2 = <<48/2=24>>24``) and ends ``#### 72``. The chosen
answer is that solution with the calculator marks removed. Two kinds of rejected answer:

- **near miss** (as the DPOP paper, arXiv 2402.13228, built its MetaMath pairs): one
  *intermediate* result (any marked result but the last) is changed by +-1..9 where it is first
  written; every later use of it and the final answer stay as they were. A few characters differ.
- **far miss**: the worked solution of *another* problem of the loaded window (the next one whose
  final answer differs). It is fluent, worked and wrong for this question, and shares little text
  with the chosen answer (mean normalised edit distance 0.76 on the shipped training rows,
  0.57 at least, against 0.009 for near misses, 0.03 at most). Rewriting every number of the solution instead was not chosen: it
  keeps every word, so its edit distance stays small and it would not contrast with the near miss.

Each problem yields one row per kind, consecutively, ids ``<file stem>:<line>:<kind>``, with the
kind, the normalised edit distance (1 - difflib ratio, as in harness.data.synthetic) and the final
answer. A problem with fewer than two marked results has no intermediate result and is dropped
(``single_step``); so is one longer than ``max_chars`` (question plus solution, ``too_long``),
which keeps a pair's difference inside the training ``max_length``. Both are filters: they are
counted in the report whatever ``skip_bad_rows`` says. ``rows_read`` counts problems,
``rows_kept`` pairs.

Held-out probe pairs disjoint from training problems: load GSM8K's own test file as a second
source whose rows are all held out (``heldout`` equal to its row count).
"""
from __future__ import annotations

import dataclasses
import os
import random
import re
from pathlib import Path

from harness.data.files import file_stem, fingerprint, read_jsonl
from harness.data.rows import LoadReport, LoadResult, RowError, Where, get_field, pair_row
from harness.data.synthetic import edit_distance_ratio
from harness.errors import HarnessError

KINDS = ("near_miss", "far_miss")
_MARK = re.compile(r"<<[^<>]*>>")
#: a calculator mark and the number written right after it (the result as the text shows it)
_RESULT = re.compile(r"<<[^<>]*>>(-?\d[\d,]*(?:\.\d+)?)")
_FINAL = re.compile(r"\n####\s*(\S.*)$")


@dataclasses.dataclass(frozen=True)
class Problem:
    line: int
    question: str
    answer: str   # the solution as written, calculator marks included
    final: str    # the text after ####

    @property
    def solution(self) -> str:
        return _MARK.sub("", self.answer)


def parse(where: Where, record: object) -> Problem:
    question = get_field(record, "question", where)
    answer = get_field(record, "answer", where)
    for name, value in (("question", question), ("answer", answer)):
        if not isinstance(value, str) or not value.strip():
            raise where.fail("wrong_type" if not isinstance(value, str) else "empty_answer", name,
                             "expected a non-empty string")
    final = _FINAL.search(answer)
    if final is None:
        raise where.fail("no_final_answer", "answer", "no final '#### <answer>' line")
    return Problem(where.row, question.strip(), answer, final.group(1).strip())


def _changed(number: str, rng: random.Random) -> str:
    """The number moved by +-1..9, never negative where it was not, written the same way
    (thousands commas and decimal places kept)."""
    plain = number.replace(",", "")
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    value = float(plain)
    for _ in range(100):
        new = value + rng.choice([-1, 1]) * rng.randint(1, 9)
        if new != value and (new >= 0 or value < 0):
            break
    text = f"{new:,.{decimals}f}" if "," in number else f"{new:.{decimals}f}"
    return text


def near_miss(p: Problem, rng: random.Random) -> str:
    """The solution with one intermediate result changed where it is first written."""
    results = list(_RESULT.finditer(p.answer))[:-1]  # never the last marked result
    m = rng.choice(results)
    start, end = m.span(1)
    return _MARK.sub("", p.answer[:start] + _changed(m.group(1), rng) + p.answer[end:])


def load_gsm8k(path: str | os.PathLike, *, skip_bad_rows: bool = False, limit: int | None = None,
               offset: int = 0, kinds: list[str] | tuple[str, ...] = KINDS, seed: int = 0,
               max_chars: int | None = None, source: str | None = None) -> LoadResult:
    """Load a GSM8K ``.jsonl`` file (``train.jsonl`` / ``test.jsonl``) as preference pairs.

    ``offset``/``limit`` select problems (non-blank lines). The near miss of a problem is drawn
    from a generator seeded by (``seed``, line), so it does not depend on the window.
    """
    path = Path(path)
    stem = file_stem(path)
    source = source or f"gsm8k/{stem}"
    kinds = tuple(kinds)
    report = LoadReport(file=str(path), format="gsm8k-jsonl", source=source, sha256=fingerprint(path),
                        options={"skip_bad_rows": skip_bad_rows, "limit": limit, "offset": offset,
                                 "kinds": list(kinds), "seed": seed, "max_chars": max_chars})
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds or len(set(kinds)) != len(kinds):
        raise HarnessError(f"must be distinct names from {', '.join(KINDS)}, got {list(kinds)}",
                           file=path, field="kinds")
    problems: list[Problem] = []
    for line, record in read_jsonl(path, offset=offset, limit=limit):
        report.rows_read += 1
        where = Where(report.file, line)
        try:
            if isinstance(record, RowError):
                raise record
            p = parse(where, record)
        except RowError as err:
            if not skip_bad_rows:
                raise
            report.drop(err)
            continue
        if len(_RESULT.findall(p.answer)) < 2:
            report.drop(where.fail("single_step", "answer", "fewer than two marked results: no "
                                   "intermediate result to change"))
        elif max_chars is not None and len(p.question) + len(p.solution) > max_chars:
            report.drop(where.fail("too_long", "answer", f"question and solution exceed {max_chars} characters"))
        else:
            problems.append(p)
    rows = []
    for i, p in enumerate(problems):
        prompt = [{"role": "user", "content": p.question}]
        chosen = p.solution
        for kind in kinds:
            if kind == "near_miss":
                rejected = near_miss(p, random.Random(f"{seed}:{p.line}"))
            else:
                donor = next((q for q in problems[i + 1:] + problems[:i] if q.final != p.final), None)
                if donor is None:
                    report.drop(Where(report.file, p.line).fail(
                        "no_far_miss", "answer", "no other problem of the window has another final answer"))
                    continue
                rejected = donor.solution
            rows.append(pair_row(f"{stem}:{p.line}:{kind}", source, prompt,
                                 {"role": "assistant", "content": chosen},
                                 {"role": "assistant", "content": rejected}, kind=kind, answer=p.final,
                                 edit_distance=round(edit_distance_ratio(chosen, rejected), 4)))
    report.finish(rows)
    return LoadResult(rows, report)
