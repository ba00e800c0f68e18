"""The generation stage: answers for one (checkpoint, task), appended record by record.

A killed run keeps every finished chunk; the rerun asks only for the samples still missing.
The backend is started lazily, only when some answers are missing, and moved from checkpoint
to checkpoint with its `switch` (a fresh in-process engine for vLLM, see generate/vllm.py).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable

from harness.generate.base import Generator, answer_samples, make_generator
from harness.store import JsonlAppender, read_jsonl
from harness.types import GenerateParams, Sample, Task


class GeneratorPool:
    """Starts the backend lazily and switches it between checkpoints."""

    def __init__(self, spec, dtype: str, seed: int) -> None:
        self.spec = spec
        self.dtype = dtype
        self.seed = seed
        self.gen: Generator | None = None
        self.current: str | None = None

    def get(self, model_dir: str) -> Generator:
        if self.gen is None:
            self.gen = make_generator(self.spec.backend, model_dir, seed=self.seed, batch_size=self.spec.batch_size,
                                      dtype=self.dtype, options={"vllm": self.spec.vllm.model_dump()})
        elif self.current != model_dir:
            self.gen.switch(model_dir)
        self.current = model_dir
        return self.gen

    def close(self) -> None:
        if self.gen is not None:
            self.gen.close()
            self.gen = None


def prompt_rows(task: Task, samples: list[Sample]) -> list[dict]:
    """What generation reads of a task's samples, as rows (an answers job's `samples`): the turns,
    the fixed history and the generation parameters of each."""
    return [{"id": s.id, "turns": list(s.turns), "history": list(s.history),
             "params": dataclasses.asdict(task.params_for(s))} for s in samples]


def generate_answers(pool: GeneratorPool, model_dir: str, rows: list[dict], out_path: Path, chunk: int = 64,
                     advance: Callable[[int], None] | None = None) -> list[dict]:
    """Answer every prompt row (`prompt_rows`) not yet in `out_path`; return all records in row order."""
    samples = [Sample(id=r["id"], turns=r["turns"], history=r["history"]) for r in rows]
    params = {r["id"]: GenerateParams(**{**r["params"], "stop": tuple(r["params"]["stop"])}) for r in rows}
    done = {r["id"]: r for r in read_jsonl(out_path)}
    todo = [s for s in samples if s.id not in done]
    if advance and len(done):
        advance(len(samples) - len(todo))
    if todo:
        gen = pool.get(model_dir)
        with JsonlAppender(out_path) as out:
            for start in range(0, len(todo), chunk):
                part = todo[start:start + chunk]
                t0 = time.time()
                answers = answer_samples(gen, part, lambda s: params[s.id])
                latency = (time.time() - t0) / len(part)
                for s, turns in zip(part, answers):
                    rec = {"id": s.id, "turns": turns, "backend": gen.name, "latency_s": round(latency, 4)}
                    out.write(rec)
                    done[s.id] = rec
                if advance:
                    advance(len(part))
    return [done[s.id] for s in samples]
