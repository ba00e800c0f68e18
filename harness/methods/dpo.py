"""DPO: Direct Preference Optimization (Rafailov et al., 2023, arXiv 2305.18290, Eq. 7).

loss = -log sigma(beta * [(log pi(yw) - log pi_ref(yw)) - (log pi(yl) - log pi_ref(yl))]),
summed token log-probs. Same as TRL's ``loss_type="sigmoid"``.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from harness.methods.base import LossOutput, Method, Params, method, require

if TYPE_CHECKING:
    from torch import Tensor


@dataclasses.dataclass(frozen=True)
class DPOParams(Params):
    beta: float = 0.1  # the paper's common setting (and TRL's default)

    def check(self) -> None:
        require(self.beta > 0, "beta", "must be > 0")


def reward_margin(pc: Tensor, pr: Tensor, rc: Tensor, rr: Tensor) -> Tensor:
    """The implicit-reward margin h = (pc - rc) - (pr - rr) shared by the DPO family."""
    return (pc - rc) - (pr - rr)


def preference_metrics(pc: Tensor, pr: Tensor, rc: Tensor, rr: Tensor, beta: float) -> dict[str, Tensor]:
    chosen_reward = beta * (pc - rc).detach()
    rejected_reward = beta * (pr - rr).detach()
    return {"rewards/chosen": chosen_reward.mean(), "rewards/rejected": rejected_reward.mean(),
            "rewards/accuracy": (chosen_reward > rejected_reward).float().mean(),
            "rewards/margin": (chosen_reward - rejected_reward).mean()}


@method
class DPO(Method):
    name = "dpo"
    needs_reference = True
    paper = "Rafailov et al. 2023, arXiv 2305.18290, Eq. 7"
    Params = DPOParams

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras) -> LossOutput:
        import torch.nn.functional as F
        beta = self.params.beta
        h = reward_margin(policy_chosen, policy_rejected, ref_chosen, ref_rejected)
        return -F.logsigmoid(beta * h), preference_metrics(policy_chosen, policy_rejected,
                                                           ref_chosen, ref_rejected, beta)
