"""IFEval's four accuracies (harness.ifeval.scorer), as per-prompt scores (0-100).

* `ifeval_prompt_strict` / `ifeval_prompt_loose`: 100 when the answer follows every instruction
  of its prompt. Their mean is the reference's prompt-level accuracy.
* `ifeval_inst_strict` / `ifeval_inst_loose`: the instructions followed, times 100 over the mean
  number of instructions per prompt of the scored set (834/541 for all of IFEval). Their mean is
  exactly the reference's instruction-level accuracy (followed / all instructions), while the
  prompt stays the unit that the bootstrap resamples and that paired comparisons pair on (the
  instructions of one prompt are answered by one response, so they are not independent draws).
  A prompt's value can therefore exceed 100 (three instructions followed out of three).

The samples' `meta` carries the prompt's `key`, `instruction_id_list` and `kwargs` (tasks/ifeval.py).
"""
from __future__ import annotations

from typing import ClassVar

from harness.metrics.base import Metric, metric
from harness.types import Sample, SampleScore


def prompt_of(sample: Sample):
    from harness.ifeval.data import Prompt
    return Prompt(sample.meta["key"], sample.turns[-1], tuple(sample.meta["instruction_id_list"]),
                  tuple(sample.meta["kwargs"]))


class _IFEval(Metric):
    loose: ClassVar[bool]
    prompt_level: ClassVar[bool]

    def score(self, answers, samples):
        from harness.ifeval.scorer import judge_cached
        prompts = [prompt_of(s) for s in samples]
        verdicts = [judge_cached(p, ans[-1] if ans else "", self.loose) for p, ans in zip(prompts, answers)]
        per_prompt = sum(len(p.instruction_id_list) for p in prompts) / max(len(prompts), 1)
        out = []
        for s, v in zip(samples, verdicts):
            value = 100.0 * v.follow_all_instructions if self.prompt_level else \
                100.0 * sum(v.follow_instruction_list) / per_prompt
            out.append(SampleScore(s.id, self.name, float(value)))
        return out


@metric
class PromptStrict(_IFEval):
    name = "ifeval_prompt_strict"
    loose, prompt_level = False, True


@metric
class PromptLoose(_IFEval):
    name = "ifeval_prompt_loose"
    loose, prompt_level = True, True


@metric
class InstStrict(_IFEval):
    name = "ifeval_inst_strict"
    loose, prompt_level = False, False


@metric
class InstLoose(_IFEval):
    name = "ifeval_inst_loose"
    loose, prompt_level = True, False


IFEVAL_METRICS = ("ifeval_prompt_strict", "ifeval_prompt_loose", "ifeval_inst_strict", "ifeval_inst_loose")
