"""IPO: Identity Preference Optimisation (Azar et al. 2023, "A General Theoretical Paradigm to
Understand Learning from Human Preferences", arXiv 2310.12036, Eq. 17).

loss = (h_avg - 1 / (2 * tau))^2,
h_avg = (log pi(yw) - log pi_ref(yw)) / |yw| - (log pi(yl) - log pi_ref(yl)) / |yl|,

with the regularisation parameter tau called ``beta`` (as in TRL). The paper writes h on sequence
log-probabilities and does not discuss length; we divide each log-ratio by its completion's token
count, exactly as TRL 1.16 does (``loss_type="ipo"``), whose source says the IPO authors confirmed
that the paper's reported results used this per-token form. Summed log-probs come in (so
``length_normalized`` stays False and the reference needs no special handling) and the division
uses ``chosen_len`` / ``rejected_len`` clamped at 1, as TRL does.

Default tau = 0.1: TRL's default. A value for LLM training in the IPO paper was NOT FOUND (its
experiments are on bandit problems).
"""
from __future__ import annotations

import dataclasses

from harness.methods.base import LossOutput, Method, Params, method, require
from harness.methods.dpo import preference_metrics


@dataclasses.dataclass(frozen=True)
class IPOParams(Params):
    beta: float = 0.1  # the paper's tau

    def check(self) -> None:
        require(self.beta > 0, "beta", "must be > 0")


@method
class IPO(Method):
    name = "ipo"
    needs_reference = True
    paper = "Azar et al. 2023, arXiv 2310.12036, Eq. 17 (per-token log-ratios, as TRL)"
    Params = IPOParams

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras) -> LossOutput:
        beta = self.params.beta
        chosen_len = extras["chosen_len"].clamp(min=1.0)
        rejected_len = extras["rejected_len"].clamp(min=1.0)
        h_avg = (policy_chosen - ref_chosen) / chosen_len - (policy_rejected - ref_rejected) / rejected_len
        metrics = preference_metrics(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)
        metrics["ipo/h_avg"] = h_avg.detach().mean()
        return (h_avg - 1 / (2 * beta)) ** 2, metrics
