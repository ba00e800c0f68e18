"""SFT on the chosen answers: the mean token negative log-likelihood of yw.

As a method in the comparison it continues training the common starting checkpoint on the
same pairs' chosen answers, with the same steps and data order as every other method.
"""
from __future__ import annotations

from harness.methods.base import LossOutput, Method, method


@method
class SFT(Method):
    name = "sft"
    needs_reference = False
    length_normalized = True
    paper = "supervised fine-tuning on chosen responses (baseline)"

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras) -> LossOutput:
        nll = extras["chosen_nll"]
        return nll, {"nll": nll.detach().mean()}
