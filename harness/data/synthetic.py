"""Seeded, verifiable multi-step arithmetic preference pairs, built like the DPOP paper's data.

A prompt asks for e.g. ``a+b-c`` (``n_ops`` operations, alternating + and -); the chosen
answer shows every step and the result: ``12+45=57; 57-7=50; ans 50``. Two kinds of rejected answer:

- **near miss** (DPOP's MetaMath construction): one intermediate result is corrupted where it is
  first written, everything else, the final answer included, is identical. Tiny edit distance.
- **far miss** (ARC-like): a different wrong answer computed by a wrong procedure (signs
  swapped), so almost every number differs. Large edit distance.

Train, preference and test prompts are disjoint. Every pair records its kind and its
normalised edit distance so the contrast is measurable.
"""
from __future__ import annotations

import dataclasses
import difflib
import random
from typing import Literal

from harness.errors import HarnessError

Kind = Literal["near_miss", "far_miss"]


def ops_for(n_ops: int) -> tuple[str, ...]:
    return tuple("+-"[i % 2] for i in range(n_ops))


@dataclasses.dataclass(frozen=True)
class Problem:
    numbers: tuple[int, ...]

    @property
    def ops(self) -> tuple[str, ...]:
        return ops_for(len(self.numbers) - 1)

    @property
    def question(self) -> str:
        expr = str(self.numbers[0]) + "".join(f"{op}{n}" for op, n in zip(self.ops, self.numbers[1:]))
        return f"What is {expr}?"

    def steps(self, ops: tuple[str, ...] | None = None) -> list[tuple[str, int]]:
        """[(left-hand side, result)] for each step, e.g. [("12+45", 57), ("57-7", 50)]."""
        ops = ops or self.ops
        acc, out = self.numbers[0], []
        for op, n in zip(ops, self.numbers[1:]):
            new = acc + n if op == "+" else acc - n
            out.append((f"{acc}{op}{n}", new))
            acc = new
        return out

    @property
    def answer(self) -> int:
        return self.steps()[-1][1]


def render(steps: list[tuple[str, int]], final: int) -> str:
    return "; ".join(f"{lhs}={res}" for lhs, res in steps) + f"; ans {final}"


def solution(p: Problem) -> str:
    return render(p.steps(), p.answer)


def near_miss(p: Problem, rng: random.Random) -> str:
    """Corrupt one intermediate result where it is written; leave the rest, final answer included."""
    steps = p.steps()
    i = rng.randrange(len(steps) - 1)  # an intermediate step, never the last
    lhs, res = steps[i]
    wrong = res + rng.choice([-1, 1]) * rng.randint(1, 9)
    steps[i] = (lhs, wrong)
    return render(steps, p.answer)


def far_miss(p: Problem) -> str:
    """A wrong procedure (each operation swapped): nearly every number differs."""
    swapped = tuple("-" if op == "+" else "+" for op in p.ops)
    steps = p.steps(swapped)
    return render(steps, steps[-1][1])


def edit_distance_ratio(a: str, b: str) -> float:
    """1 - difflib similarity: 0 for identical strings, near 1 for unrelated ones. Without
    difflib's auto-junk heuristic, which from 200 characters on ignores frequent characters and
    puts a one-number change of a GSM8K solution at 0.6 (same value below 200 characters)."""
    return 1.0 - difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def make_problems(n: int, rng: random.Random, max_value: int, n_ops: int,
                  taken: set[tuple[int, ...]]) -> list[Problem]:
    out = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise HarnessError(f"cannot draw {n} more distinct problems with numbers up to {max_value} and "
                               f"{n_ops} operations ({len(taken)} drawn so far): raise max_value or n_ops, "
                               "or lower n_sft / n_preference / n_test", field="data.synthetic")
        nums = tuple(rng.randint(1, max_value) for _ in range(n_ops + 1))
        if nums in taken:
            continue
        p = Problem(nums)
        if far_miss(p).endswith(f"ans {p.answer}"):
            continue  # the wrong procedure happened to reach the right answer
        taken.add(nums)
        out.append(p)
    return out


def conversation_prompt(p: Problem) -> list[dict[str, str]]:
    return [{"role": "user", "content": p.question}]


def preference_row(p: Problem, kind: Kind, rng: random.Random, idx: int, split: str) -> dict:
    chosen = solution(p)
    rejected = near_miss(p, rng) if kind == "near_miss" else far_miss(p)
    return {"id": f"synthetic-{split}-{idx}-{kind}", "prompt": conversation_prompt(p),
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
            "kind": kind, "answer": p.answer, "source": "synthetic",
            "edit_distance": round(edit_distance_ratio(chosen, rejected), 4)}


@dataclasses.dataclass(frozen=True)
class SyntheticSplits:
    sft: list[dict]          # {"id", "messages"} chats for the starting checkpoint
    preference: list[dict]   # preference rows, both kinds
    test_pairs: list[dict]   # held-out preference rows (token-level log-prob analysis)
    test: list[Problem]      # held-out problems for generation + exact match
    dev: list[Problem] = dataclasses.field(default_factory=list)  # held-out problems for choosing grid points


def build(seed: int = 0, n_sft: int = 4000, n_preference: int = 1000, n_test: int = 200,
          max_value: int = 99, n_ops: int = 2,
          kinds: tuple[Kind, ...] = ("near_miss", "far_miss"), n_dev: int = 0) -> SyntheticSplits:
    """Deterministic for a seed. Each preference/test problem yields one pair per kind. Dev
    problems are drawn last, so asking for them leaves every other split as it was."""
    rng = random.Random(seed)
    taken: set[tuple[int, ...]] = set()
    if n_ops < 2:
        raise ValueError("n_ops must be >= 2: a near miss corrupts an intermediate result")
    test = make_problems(n_test, rng, max_value, n_ops, taken)
    pref = make_problems(n_preference, rng, max_value, n_ops, taken)
    sft = make_problems(n_sft, rng, max_value, n_ops, taken)
    sft_rows = [{"id": f"synthetic-sft-{i}",
                 "messages": conversation_prompt(p) + [{"role": "assistant", "content": solution(p)}]}
                for i, p in enumerate(sft)]
    pref_rows = [preference_row(p, k, rng, i, "train") for i, p in enumerate(pref) for k in kinds]
    test_rows = [preference_row(p, k, rng, i, "test") for i, p in enumerate(test) for k in kinds]
    dev = make_problems(n_dev, rng, max_value, n_ops, taken)
    return SyntheticSplits(sft_rows, pref_rows, test_rows, test, dev)
