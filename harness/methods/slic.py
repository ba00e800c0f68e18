"""SLiC-HF hinge loss in TRL's reference-normalised form (Zhao et al. 2023, "SLiC-HF: Sequence
Likelihood Calibration with Human Feedback", arXiv 2305.10425, its rank-calibration loss,
normalised as the "hinge-norm" loss of Liu et al. 2023, RSO, arXiv 2309.06657).

loss = max(0, 1 - beta * h),

with h the DPO reward margin on summed token log-probs: TRL's ``loss_type="hinge"``, where beta is
the reciprocal of the margin (delta = 1 / beta on h). SLiC-HF itself writes
max(0, delta - log pi(yw) + log pi(yl)) - lambda * log pi(y_ref) with no reference model and a
cross-entropy regulariser on SFT targets; neither that un-normalised form nor the regulariser is
used here: this is the variant TRL runs next to DPO.

Default beta = 0.1 (TRL's default, margin 10 nats on h). SLiC-HF's delta = 1 would be beta = 1; the
RSO paper's value was NOT FOUND in the stored material.
"""
from __future__ import annotations

import dataclasses

from harness.methods.base import LossOutput, Method, Params, method, require
from harness.methods.dpo import preference_metrics, reward_margin


@dataclasses.dataclass(frozen=True)
class SLiCParams(Params):
    beta: float = 0.1

    def check(self) -> None:
        require(self.beta > 0, "beta", "must be > 0")


@method
class SLiC(Method):
    name = "slic"
    needs_reference = True
    paper = "Zhao et al. 2023, arXiv 2305.10425 (TRL hinge / RSO hinge-norm form)"
    Params = SLiCParams

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras) -> LossOutput:
        import torch
        beta = self.params.beta
        h = reward_margin(policy_chosen, policy_rejected, ref_chosen, ref_rejected)
        return torch.relu(1 - beta * h), preference_metrics(policy_chosen, policy_rejected,
                                                            ref_chosen, ref_rejected, beta)
