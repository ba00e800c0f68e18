"""KTO on preference pairs (Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect Theoretic
Optimization", arXiv 2402.01306, the loss TRL cites as its Eq. 7), in the paired form of TRL's
former ``loss_type="kto_pair"``.

Each pair gives one desirable (yw) and one undesirable (yl) example, with r(y) = log pi(y) - log pi_ref(y)
on summed token log-probs:

  loss_w = lambda_D * (1 - sigma(beta * (r(yw) - z_l)))
  loss_l = lambda_U * (1 - sigma(beta * (z_w - r(yl))))
  loss   = (loss_w + loss_l) / 2

z0, the reference point (a KL estimate), is the batch mean of the log-ratios of the *other* half,
clamped at 0, as in ``kto_pair``: z_l = max(0, mean_batch r(yl)) for the desirable term and
z_w = max(0, mean_batch r(yw)) for the undesirable one. Following the paper (which does not
back-propagate through z0) and TRL's current ``KTOTrainer``, z is detached; ``kto_pair`` did not
detach it, so its gradients differed slightly while its value is the same. Dividing by 2 makes the
batch mean of our per-pair losses equal ``kto_pair``'s mean over its 2*batch concatenation.

Consequences to keep in mind: a pair's loss depends on the rest of its (micro-)batch through z, and
a batch of one pair estimates z from that pair alone. TRL 1.16's ``KTOTrainer`` instead estimates one
z from mismatched (x, y') completions; that unpaired trainer is not what runs here.

Defaults: beta = 0.1 (TRL's default); lambda_D = lambda_U = 1, inside the recommended range
lambda_D n_D / (lambda_U n_U) in [1, 4/3] that TRL's KTOTrainer checks, since paired data has n_D = n_U.
"""
from __future__ import annotations

import dataclasses

from harness.methods.base import LossOutput, Method, Params, method, require
from harness.methods.dpo import preference_metrics


@dataclasses.dataclass(frozen=True)
class KTOParams(Params):
    beta: float = 0.1
    desirable_weight: float = 1.0  # lambda_D
    undesirable_weight: float = 1.0  # lambda_U

    def check(self) -> None:
        require(self.beta > 0, "beta", "must be > 0")
        require(self.desirable_weight > 0, "desirable_weight", "must be > 0")
        require(self.undesirable_weight > 0, "undesirable_weight", "must be > 0")


@method
class KTO(Method):
    name = "kto"
    needs_reference = True
    paper = "Ethayarajh et al. 2024, arXiv 2402.01306, Eq. 7 (paired form, TRL kto_pair)"
    Params = KTOParams

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras) -> LossOutput:
        import torch
        p = self.params
        chosen_logratio = policy_chosen - ref_chosen
        rejected_logratio = policy_rejected - ref_rejected
        z_chosen = chosen_logratio.detach().mean().clamp(min=0)
        z_rejected = rejected_logratio.detach().mean().clamp(min=0)
        loss_w = p.desirable_weight * (1 - torch.sigmoid(p.beta * (chosen_logratio - z_rejected)))
        loss_l = p.undesirable_weight * (1 - torch.sigmoid(p.beta * (z_chosen - rejected_logratio)))
        metrics = preference_metrics(policy_chosen, policy_rejected, ref_chosen, ref_rejected, p.beta)
        metrics["kto/z_chosen"] = z_chosen
        metrics["kto/z_rejected"] = z_rejected
        return (loss_w + loss_l) / 2, metrics
