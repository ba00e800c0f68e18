"""SimPO: Simple Preference Optimization with a reference-free reward (Meng, Xia, Chen 2024,
arXiv 2405.14734, Eq. 6).

loss = -log sigma(beta / |yw| * log pi(yw) - beta / |yl| * log pi(yl) - gamma),

with length-normalised (mean token) log-probs and no reference model. The margin is set, as in the
authors' code (princeton-nlp/SimPO ``gamma_beta_ratio``), through the ratio gamma / beta, so
loss = -log sigma(beta * (pc - pr - gamma_beta_ratio)). TRL's ``CPOTrainer(loss_type="simpo")``
takes the absolute gamma as ``simpo_gamma`` and computes the same value.

Defaults beta = 2.0, gamma/beta = 0.5 (gamma = 1.0): the authors' Llama-3-8B-Base configuration
(training_configs/llama-3-8b-base-simpo.yaml); other settings in their repository use other values
(e.g. the code default gamma/beta = 0.25), and [Blur] (arXiv 2502.01237) notes their recipe fixes
gamma/beta = 0.5. The optional SFT term of the authors' code (``sft_weight``, default 0) is omitted.
"""
from __future__ import annotations

import dataclasses

from harness.methods.base import LossOutput, Method, Params, method, require
from harness.methods.dpo import preference_metrics


@dataclasses.dataclass(frozen=True)
class SimPOParams(Params):
    beta: float = 2.0
    gamma_beta_ratio: float = 0.5

    def check(self) -> None:
        require(self.beta > 0, "beta", "must be > 0")
        require(self.gamma_beta_ratio >= 0, "gamma_beta_ratio", "must be >= 0")


@method
class SimPO(Method):
    name = "simpo"
    needs_reference = False
    length_normalized = True
    paper = "Meng et al. 2024, arXiv 2405.14734, Eq. 6"
    Params = SimPOParams

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras) -> LossOutput:
        import torch
        import torch.nn.functional as F
        p = self.params
        logits = p.beta * (policy_chosen - policy_rejected - p.gamma_beta_ratio)
        zero = torch.zeros_like(policy_chosen)
        return -F.logsigmoid(logits), preference_metrics(policy_chosen, policy_rejected, zero, zero, p.beta)
