"""DPO-Positive (Pal et al., "Smaug", arXiv 2402.13228 v2, Eq. 3).

loss = -log sigma(beta * [h - lambda * max(0, log pi_ref(yw) - log pi(yw))])

with h the DPO reward margin. The penalty sits *inside* the beta-scaled logit, the bracketing
fixed in v2 (abacusai/smaug issue #2); v1's placement makes the loss blow up at lambda = 50.
It is zero while the policy keeps the chosen answer at least as likely as the reference does.
Summed token log-probs, like DPO. Defaults beta = 0.3, lambda = 50 are the paper's.
"""
from __future__ import annotations

import dataclasses

from harness.methods.base import LossOutput, Method, Params, method, require
from harness.methods.dpo import preference_metrics, reward_margin


@dataclasses.dataclass(frozen=True)
class DPOPParams(Params):
    beta: float = 0.3
    lambda_: float = 50.0

    def check(self) -> None:
        require(self.beta > 0, "beta", "must be > 0")
        require(self.lambda_ >= 0, "lambda_", "must be >= 0")


@method
class DPOP(Method):
    name = "dpop"
    needs_reference = True
    paper = "Pal et al. 2024, arXiv 2402.13228v2, Eq. 3"
    Params = DPOPParams

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras) -> LossOutput:
        import torch
        import torch.nn.functional as F
        p = self.params
        penalty = torch.clamp(ref_chosen - policy_chosen, min=0)
        logits = reward_margin(policy_chosen, policy_rejected, ref_chosen, ref_rejected) - p.lambda_ * penalty
        metrics = preference_metrics(policy_chosen, policy_rejected, ref_chosen, ref_rejected, p.beta)
        metrics["dpop/penalty"] = penalty.detach().mean()
        return -F.logsigmoid(p.beta * logits), metrics
