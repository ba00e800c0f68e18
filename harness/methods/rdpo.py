"""R-DPO: length-regularised DPO (Park, Rafailov, Ermon, Finn 2024, "Disentangling Length from
Quality in Direct Preference Optimization", arXiv 2403.19159).

loss = -log sigma(beta * h + alpha * (|yw| - |yl|)),

with h the DPO reward margin on summed token log-probs and |y| the completion's token count
(``chosen_len`` / ``rejected_len``). Sign: R-DPO adds the length penalty alpha*|y| to the RLHF
objective, max E[r(x, y) - alpha |y|] - beta KL, so the implied reward is
r = beta log(pi/pi_ref) + alpha |y| + const and the Bradley-Terry logit gains
+alpha (|yw| - |yl|): pairs whose chosen answer is longer are already "explained" by length and
get less gradient, which is what removes the length exploitation. The same "+ (alpha|yw| - alpha|yl|)"
form is how the SimPO paper's table of objectives restates it. The paper body was not available
here; the sign follows from that derivation and should be re-checked against the paper's equation.

Defaults: beta = 0.1 (DPO's). The paper's alpha was NOT FOUND; alpha = 0.05 is a documented choice
(per-token, so a 20-token length gap shifts the logit by 1.0). Tune it per data set.
"""
from __future__ import annotations

import dataclasses

from harness.methods.base import LossOutput, Method, Params, method, require
from harness.methods.dpo import preference_metrics, reward_margin


@dataclasses.dataclass(frozen=True)
class RDPOParams(Params):
    beta: float = 0.1
    alpha: float = 0.05

    def check(self) -> None:
        require(self.beta > 0, "beta", "must be > 0")
        require(self.alpha >= 0, "alpha", "must be >= 0")


@method
class RDPO(Method):
    name = "rdpo"
    needs_reference = True
    paper = "Park et al. 2024, arXiv 2403.19159 (length-regularised DPO)"
    Params = RDPOParams

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras) -> LossOutput:
        import torch.nn.functional as F
        p = self.params
        length_gap = extras["chosen_len"] - extras["rejected_len"]
        h = reward_margin(policy_chosen, policy_rejected, ref_chosen, ref_rejected)
        metrics = preference_metrics(policy_chosen, policy_rejected, ref_chosen, ref_rejected, p.beta)
        metrics["rdpo/length_gap"] = length_gap.detach().mean()
        return -F.logsigmoid(p.beta * h + p.alpha * length_gap), metrics
