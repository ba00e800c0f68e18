"""Likelihood dynamics: log pi(chosen), log pi(rejected) and their margin during training.

Every `every` steps (and before the first) the callback scores a fixed set of held-out pairs per
kind (near miss / far miss) with the current policy. This is what makes the DPOP and ASFT
papers' claim -- DPO lowers the likelihood of the preferred answer -- measurable.
"""
from __future__ import annotations

from transformers import TrainerCallback

from harness.train.logps import pair_logps


class LogpDynamicsCallback(TrainerCallback):
    def __init__(self, tokenizer, probes: dict[str, list[dict]], every: int) -> None:
        self.tokenizer = tokenizer
        self.probes = probes
        self.every = every
        self.rows: list[dict] = []

    def _record(self, model, step: int) -> None:
        for kind, rows in self.probes.items():
            if not rows:
                continue
            scored = pair_logps(model, self.tokenizer, rows)
            chosen = sum(s["chosen_sum"] for s in scored) / len(scored)
            rejected = sum(s["rejected_sum"] for s in scored) / len(scored)
            self.rows.append({"step": step, "kind": kind, "logp_chosen": round(chosen, 5),
                              "logp_rejected": round(rejected, 5), "margin": round(chosen - rejected, 5)})

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step == 0:
            self._record(model, 0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            self._record(model, state.global_step)
