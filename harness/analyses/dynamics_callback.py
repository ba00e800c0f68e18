"""The trainer callback of harness.analyses.dynamics: scores the probe pairs with the current policy
before the first step and every `every` steps, appending rows to a JSONL file (a resumed training
keeps the rows up to its checkpoint). Its own module so that reading the analysis's tables imports
no transformers."""
from __future__ import annotations

import json
from pathlib import Path

from transformers import TrainerCallback

from harness.store import JsonlAppender, atomic_write_text, read_jsonl
from harness.train.logps import pair_logps


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
