"""IFEval scoring with the reference's semantics.

The evaluation loop is google-research `instruction_following_eval/evaluation_lib.py`'s
`test_instruction_following_strict` / `_loose` (the loose variants: the response without its
first line, its last line, both, and each of those without `*`); the 25 checkers are lm-eval's port
of the reference's `instructions.py` (lm-eval 0.4.13, pinned exactly in pyproject.toml because
this module uses its internals, `lm_eval.tasks.ifeval.instructions_registry`).

Where the port and the current reference differ, the reference wins:

* `keywords:letter_frequency`: the port replaces a non-letter `letter` (IFEval asks for "#" and
  "!") by a *random* ASCII letter; the reference no longer does (google-research, instructions.py
  as of commit 3f357bde), so `LetterFrequencyChecker` below counts the character asked for.
* kwargs are passed as given (the port drops falsy values, needed only for its Hugging Face copy
  of the data, whose rows carry every argument name with None).

Determinism: three checkers call `langdetect`, whose detector samples at random; the reference
does not seed it, so its verdict on short or mixed-language text can change between runs.
`_registry()` sets `langdetect.DetectorFactory.seed = 0`, so a verdict is a function of the text.
Sentence and word splitting use NLTK's English Punkt model from `harness.ifeval.punkt`.
"""
from __future__ import annotations

import dataclasses
import functools
import random
import string

from harness.ifeval.data import Prompt


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The reference's OutputExample: one response judged against one prompt's instructions."""

    instruction_id_list: tuple[str, ...]
    prompt: str
    response: str
    follow_all_instructions: bool
    follow_instruction_list: tuple[bool, ...]

    def record(self) -> dict:
        """The reference's eval_results_*.jsonl row (attributes in `dir()` order, as it writes them)."""
        return {"follow_all_instructions": self.follow_all_instructions,
                "follow_instruction_list": list(self.follow_instruction_list),
                "instruction_id_list": list(self.instruction_id_list),
                "prompt": self.prompt, "response": self.response}


@functools.lru_cache(maxsize=None)
def _registry() -> dict:
    """Instruction id -> checker class (lm-eval's port with the reference's letter checker)."""
    from harness.ifeval import punkt
    punkt.install()  # before lm-eval's module looks for punkt_tab (it would try to download it)
    import langdetect
    langdetect.DetectorFactory.seed = 0
    from lm_eval.tasks.ifeval import instructions, instructions_registry

    class LetterFrequencyChecker(instructions.LetterFrequencyChecker):
        def build_description(self, *, letter=None, let_frequency=None, let_relation=None):
            self._letter = letter.strip() if letter and len(letter) == 1 else random.choice(string.ascii_letters)
            self._letter = self._letter.lower()
            self._frequency = let_frequency
            if self._frequency is None or self._frequency < 0:
                self._frequency = random.randint(1, instructions._LETTER_FREQUENCY)
            if let_relation is None:
                self._comparison_relation = random.choice(instructions._COMPARISON_RELATION)
            elif let_relation not in instructions._COMPARISON_RELATION:
                raise ValueError("The supported relation for comparison must be in "
                                 f"{instructions._COMPARISON_RELATION}, but {let_relation} is given.")
            else:
                self._comparison_relation = let_relation
            self._description_pattern = ("In your response, the letter {letter} should appear {let_relation}"
                                         " {let_frequency} times.")
            return self._description_pattern.format(letter=self._letter, let_frequency=self._frequency,
                                                     let_relation=self._comparison_relation)

    registry = dict(instructions_registry.INSTRUCTION_DICT)
    registry["keywords:letter_frequency"] = LetterFrequencyChecker
    return registry


def _checker(prompt: Prompt, index: int):
    instruction_id = prompt.instruction_id_list[index]
    checker = _registry()[instruction_id](instruction_id)
    checker.build_description(**prompt.kwargs[index])
    args = checker.get_instruction_args()
    if args and "prompt" in args:
        checker.build_description(prompt=prompt.prompt)
    return checker


def loose_variants(response: str) -> list[str]:
    """The reference's eight loose versions of a response, in its order."""
    lines = response.split("\n")
    remove_first = "\n".join(lines[1:]).strip()
    remove_last = "\n".join(lines[:-1]).strip()
    remove_both = "\n".join(lines[1:-1]).strip()
    return [response, response.replace("*", ""), remove_first, remove_last, remove_both,
            remove_first.replace("*", ""), remove_last.replace("*", ""), remove_both.replace("*", "")]


def judge(prompt: Prompt, response: str, loose: bool) -> Verdict:
    """The strict (or loose) verdict on one response, exactly as the reference computes it."""
    candidates = loose_variants(response) if loose else [response]
    follows = []
    for index in range(len(prompt.instruction_id_list)):
        checker = _checker(prompt, index)
        follows.append(any(r.strip() and checker.check_following(r) for r in candidates))
    return Verdict(prompt.instruction_id_list, prompt.prompt, response, all(follows), tuple(follows))


_VERDICTS: dict[tuple[int, str, str, bool], Verdict] = {}


def judge_cached(prompt: Prompt, response: str, loose: bool) -> Verdict:
    """`judge`, remembered: the four metrics of a task ask for the same verdicts twice each."""
    key = (prompt.key, prompt.prompt, response, loose)
    if key not in _VERDICTS:
        _VERDICTS[key] = judge(prompt, response, loose)
    return _VERDICTS[key]
