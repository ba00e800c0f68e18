"""Likelihood dynamics: log pi(chosen), log pi(rejected) and their margin during training.

Every `every` steps (and before the first) the callback scores a fixed set of held-out pairs per
kind (near miss / far miss) with the current policy. This is what makes the DPOP and ASFT
papers' claim -- DPO lowers the likelihood of the preferred answer -- measurable.

Rows are appended to a JSONL file as they are measured, so a run killed mid-training and resumed
from its last checkpoint keeps the curve up to that checkpoint and continues it.

The probe pairs are the run's held-out pairs (harness.data.prepare.PreparedData.test_pairs), the
first `train.probe_pairs` of each kind, scored every `train.logps_every` steps.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.analyses.base import TrainingProbe

if TYPE_CHECKING:  # the trainer callback imports transformers: only a training needs it, not the tables
    from harness.analyses.dynamics_callback import LogpDynamicsCallback


class LikelihoodDynamics(TrainingProbe):
    tables = {"dynamics": ["step", "kind", "logp_chosen", "logp_rejected", "margin"]}

    def inputs(self, data, train) -> dict[str, list[dict]] | None:
        from harness.data.prepare import pair_kinds
        probes = {k: [r for r in data.test_pairs if r["kind"] == k][:train.probe_pairs]
                  for k in pair_kinds(data.test_pairs)}
        return probes or None

    def callback(self, tokenizer, train, inputs: dict[str, list[dict]], folder: Path) -> LogpDynamicsCallback:
        from harness.analyses.dynamics_callback import LogpDynamicsCallback
        return LogpDynamicsCallback(tokenizer, inputs, train.logps_every, folder / "dynamics.jsonl",
                                    max_length=train.max_length)
