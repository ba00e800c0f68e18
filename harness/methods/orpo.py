"""ORPO: monolithic preference optimisation without a reference model (Hong et al. 2024,
arXiv 2403.07691, Eq. 6-7).

  L = -log pi(yw) - lambda * log sigma(r_odds(yw) - r_odds(yl)),
  r_odds(y) = log pi(y) - log(1 - pi(y)),  length-normalised log pi.

TRL's ORPO ``beta`` is this lambda; the paper's default is 0.1. The SFT term is ``chosen_nll``, the
chosen completion's mean token NLL; TRL's ORPOTrainer (1.16, experimental) instead takes a token-mean
cross-entropy over prompt and completion of the whole batch, so its total differs from ours by that
term only (the odds-ratio term is identical, see tests/methods/test_methods_trl.py).
"""
from __future__ import annotations

import dataclasses

from harness.methods.base import LossOutput, Method, Params, log1mexp, method, require


@dataclasses.dataclass(frozen=True)
class ORPOParams(Params):
    lambda_: float = 0.1

    def check(self) -> None:
        require(self.lambda_ >= 0, "lambda_", "must be >= 0")


def log_odds(logp):
    return logp - log1mexp(logp)


@method
class ORPO(Method):
    name = "orpo"
    needs_reference = False
    length_normalized = True
    paper = "Hong et al. 2024, arXiv 2403.07691, Eq. 6-7"
    Params = ORPOParams

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras) -> LossOutput:
        import torch.nn.functional as F
        ratio = log_odds(policy_chosen) - log_odds(policy_rejected)
        align = F.logsigmoid(ratio)
        nll = extras["chosen_nll"]
        return nll - self.params.lambda_ * align, {"orpo/log_odds_ratio": ratio.detach().mean(),
                                                   "nll": nll.detach().mean()}
