"""cDPO: conservative DPO, i.e. DPO with label smoothing (Mitchell 2023, "A note on DPO with noisy
preferences & relationship to IPO", https://ericmitchell.ai/cdpo.pdf; the loss that OpenRLHF's
``DPOLoss`` cites as the note's Eq. 3).

loss = -(1 - eps) * log sigma(beta * h) - eps * log sigma(-beta * h),

with h the DPO reward margin on summed token log-probs: the DPO loss against a target that says
"yw is preferred with probability 1 - eps". eps = 0 is DPO. This is the form of the DPO authors'
reference implementation (``loss.label_smoothing``) and of TRL's old ``loss_type="sigmoid"`` with
``label_smoothing``; TRL 1.16 keeps it only in ``CPOTrainer.cpo_loss`` (applied there to policy-only
log-ratios). It is NOT TRL's ``"robust"`` loss (rDPO, Chowdhury et al. 2024), which subtracts the
flipped term and divides by 1 - 2 eps.

Defaults: beta = 0.1 (DPO's). The note's recommended eps was NOT FOUND in the stored material (the
reference implementation's default is 0, i.e. plain DPO, with eps documented as "in range (0, 0.5),
the fraction of preference pairs that are flipped"); eps = 0.1 is a documented choice, the "typical
value" TRL's docs give for the label-flip rate of the related robust-DPO loss.
"""
from __future__ import annotations

import dataclasses

from harness.methods.base import LossOutput, Method, Params, method, require
from harness.methods.dpo import preference_metrics, reward_margin


@dataclasses.dataclass(frozen=True)
class CDPOParams(Params):
    beta: float = 0.1
    label_smoothing: float = 0.1  # eps

    def check(self) -> None:
        require(self.beta > 0, "beta", "must be > 0")
        require(0 <= self.label_smoothing < 0.5, "label_smoothing", "must be in [0, 0.5)")


@method
class CDPO(Method):
    name = "cdpo"
    needs_reference = True
    paper = "Mitchell 2023, cDPO note (ericmitchell.ai/cdpo.pdf), Eq. 3"
    Params = CDPOParams

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras) -> LossOutput:
        import torch.nn.functional as F
        p = self.params
        logits = p.beta * reward_margin(policy_chosen, policy_rejected, ref_chosen, ref_rejected)
        losses = -(1 - p.label_smoothing) * F.logsigmoid(logits) - p.label_smoothing * F.logsigmoid(-logits)
        return losses, preference_metrics(policy_chosen, policy_rejected, ref_chosen, ref_rejected, p.beta)
