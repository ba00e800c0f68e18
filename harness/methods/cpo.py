"""CPO: Contrastive Preference Optimization (Xu et al. 2024, "Contrastive Preference Optimization:
Pushing the Boundaries of LLM Performance in Machine Translation", arXiv 2401.08417: the
preference term of Eq. 3 plus the NLL term of §3).

loss = -log sigma(beta * (log pi(yw) - log pi(yl))) + alpha * NLL(yw),

a reference-free DPO (the reference replaced by a uniform one) plus a behaviour-cloning NLL term on
the chosen answer. Summed token log-probs inside the sigmoid, as in TRL's ``CPOTrainer`` (which
averages only for its ``ipo``/``simpo`` loss types). The NLL term is ``chosen_nll``, the mean token
NLL: the paper writes -log pi(yw|x), but the authors' trainer and TRL compute it with a token-mean
cross-entropy (TRL's is the token mean over the batch, equal to the mean of our per-example means
when chosen lengths are equal).

Defaults beta = 0.1 (TRL's default and, as recalled, the paper's ALMA-R setting) and alpha = 1.0
(the paper's unweighted sum; TRL's ``cpo_alpha``).
"""
from __future__ import annotations

import dataclasses

from harness.methods.base import LossOutput, Method, Params, method, require
from harness.methods.dpo import preference_metrics


@dataclasses.dataclass(frozen=True)
class CPOParams(Params):
    beta: float = 0.1
    alpha: float = 1.0

    def check(self) -> None:
        require(self.beta > 0, "beta", "must be > 0")
        require(self.alpha >= 0, "alpha", "must be >= 0")


@method
class CPO(Method):
    name = "cpo"
    needs_reference = False
    paper = "Xu et al. 2024, arXiv 2401.08417, Eq. 3 + NLL"
    Params = CPOParams

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras) -> LossOutput:
        import torch
        import torch.nn.functional as F
        p = self.params
        nll = extras["chosen_nll"]
        prefer = -F.logsigmoid(p.beta * (policy_chosen - policy_rejected))
        zero = torch.zeros_like(policy_chosen)
        metrics = preference_metrics(policy_chosen, policy_rejected, zero, zero, p.beta)
        metrics["nll"] = nll.detach().mean()
        return prefer + p.alpha * nll, metrics
