"""RPO: DPO plus an NLL term on the chosen answer (Pang et al. 2024, "Iterative Reasoning Preference
Optimization", arXiv 2404.19733, the DPO+NLL loss of §2).

loss = -log sigma(beta * h) + alpha * NLL(yw),

with h the DPO reward margin on summed token log-probs and NLL(yw) the chosen answer's negative
log-likelihood divided by its length: ``chosen_nll``, the per-example mean token NLL. The paper
divides the NLL term by the token count of the chosen chain-of-thought plus answer, i.e. of the
whole chosen completion (recalled from its §2; the stored copy of the paper could be read only up
to its introduction, so re-check this against the equation).

TRL 1.16 builds the same loss as ``loss_type=["sigmoid", "sft"], loss_weights=[1, alpha]``; its SFT
term is the token mean over the whole batch, which equals the mean of our per-example means only
when the chosen answers have equal lengths (or the batch has one pair).

Defaults: beta = 0.1 (DPO's); alpha = 1.0, which TRL's docs state is the paper's (v3)
recommendation.
"""
from __future__ import annotations

import dataclasses

from harness.methods.base import LossOutput, Method, Params, method, require
from harness.methods.dpo import preference_metrics, reward_margin


@dataclasses.dataclass(frozen=True)
class RPOParams(Params):
    beta: float = 0.1
    alpha: float = 1.0

    def check(self) -> None:
        require(self.beta > 0, "beta", "must be > 0")
        require(self.alpha >= 0, "alpha", "must be >= 0")


@method
class RPO(Method):
    name = "rpo"
    needs_reference = True
    paper = "Pang et al. 2024, arXiv 2404.19733 (DPO + length-normalised NLL)"
    Params = RPOParams

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras) -> LossOutput:
        import torch.nn.functional as F
        p = self.params
        h = reward_margin(policy_chosen, policy_rejected, ref_chosen, ref_rejected)
        nll = extras["chosen_nll"]
        metrics = preference_metrics(policy_chosen, policy_rejected, ref_chosen, ref_rejected, p.beta)
        metrics["nll"] = nll.detach().mean()
        return -F.logsigmoid(p.beta * h) + p.alpha * nll, metrics
