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

import json
from pathlib import Path

from transformers import TrainerCallback

from harness.analyses.base import TrainingProbe
from harness.store import JsonlAppender, atomic_write_text, read_jsonl
from harness.train.logps import pair_logps


class LikelihoodDynamics(TrainingProbe):
    tables = {"dynamics": ["step", "kind", "logp_chosen", "logp_rejected", "margin"]}

    def inputs(self, data, train) -> dict[str, list[dict]] | None:
        from harness.data.prepare import pair_kinds
        probes = {k: [r for r in data.test_pairs if r["kind"] == k][:train.probe_pairs]
                  for k in pair_kinds(data.test_pairs)}
        return probes or None

    def callback(self, tokenizer, train, inputs: dict[str, list[dict]], folder: Path) -> "LogpDynamicsCallback":
        return LogpDynamicsCallback(tokenizer, inputs, train.logps_every, folder / "dynamics.jsonl",
                                    max_length=train.max_length)


class LogpDynamicsCallback(TrainerCallback):
    def __init__(self, tokenizer, probes: dict[str, list[dict]], every: int, path: Path,
                 max_length: int | None = None) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.probes = probes
        self.every = every
        self.path = path
        self.rows: list[dict] = read_jsonl(path)

    def tables(self) -> dict[str, list[dict]]:
        return {"dynamics": self.rows}

    def _record(self, model, step: int) -> None:
        with JsonlAppender(self.path) as out:
            for kind, rows in self.probes.items():
                if not rows:
                    continue
                scored = pair_logps(model, self.tokenizer, rows, max_length=self.max_length)
                if not scored:
                    continue
                chosen = sum(s["chosen_sum"] for s in scored) / len(scored)
                rejected = sum(s["rejected_sum"] for s in scored) / len(scored)
                row = {"step": step, "kind": kind, "logp_chosen": round(chosen, 5),
                       "logp_rejected": round(rejected, 5), "margin": round(chosen - rejected, 5)}
                out.write(row)
                self.rows.append(row)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:  # several processes (harness.train.launch): rank 0 measures
            return
        # resumed from a checkpoint: drop rows measured after it (they will be measured again)
        kept = [r for r in self.rows if r["step"] <= state.global_step]
        if len(kept) != len(self.rows):
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))
        self.rows = kept
        if state.global_step == 0 and not self.rows:
            self._record(model, 0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            self._record(model, state.global_step)
