"""ASFT: Aligned SFT through absolute likelihood (Wang et al. 2024, arXiv 2409.10571).

The ASFT paper's body was not available; the loss is as restated and re-implemented by
Gorbatovski et al. 2025 ("The Differences Between DAAs are a Blur", arXiv 2502.01237, §2.4, App. C):

  L = -log pi(yw) - lambda * [log sigma(r_odds(yw)) + log sigma(-r_odds(yl))]
    = -log pi(yw) - lambda * [log pi(yw) + log(1 - pi(yl))]

with length-normalised log pi (mean token log-prob) and r_odds(y) = log(pi(y) / (1 - pi(y))).
No reference model. lambda's value in the ASFT paper was NOT FOUND; the default 1.0 is [Blur]'s
best one-stage setting within {0.1, 0.2, 0.5, 1.0}.
"""
from __future__ import annotations

import dataclasses

from harness.methods.base import LossOutput, Method, Params, log1mexp, method, require


@dataclasses.dataclass(frozen=True)
class ASFTParams(Params):
    lambda_: float = 1.0

    def check(self) -> None:
        require(self.lambda_ >= 0, "lambda_", "must be >= 0")


@method
class ASFT(Method):
    name = "asft"
    needs_reference = False
    length_normalized = True
    paper = "Wang et al. 2024, arXiv 2409.10571 (loss as restated in arXiv 2502.01237 §2.4)"
    Params = ASFTParams

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras) -> LossOutput:
        align = policy_chosen + log1mexp(policy_rejected)
        nll = extras["chosen_nll"]
        losses = nll - self.params.lambda_ * align
        return losses, {"asft/align": -align.detach().mean(), "nll": nll.detach().mean()}
