"""Reference log-probs, computed once per (reference checkpoint, data set, tokenisation) and shared.

TRL computes them (its own tokenisation and batching, so they match what the trainer sees); we
keep them in the stage cache as id -> (chosen, rejected) and attach them as the
`ref_chosen_logps` / `ref_rejected_logps` columns for every reference-based method, in this run
and in later runs with the same reference and data.
"""
from __future__ import annotations

import math

from datasets import Dataset

REF_COLUMNS = ("ref_chosen_logps", "ref_rejected_logps")


def compute_reference_logps(ref_dir: str, dataset: Dataset, args,
                            dtype: str = "float32") -> tuple[dict[str, tuple[float, float]], int]:
    """Run TRL's precompute pass once with the reference model; return {row id: (chosen, rejected)}
    and the number of reference forward batches it took."""
    from harness.methods.dpo import DPO
    from harness.models.load import load_model, load_tokenizer
    from harness.train.adapter import MethodTrainer

    tokenizer = load_tokenizer(ref_dir)
    model = load_model(ref_dir, dtype)
    trainer = MethodTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                            method=DPO())
    ds = trainer.train_dataset
    values = {str(i): (float(c), float(r)) for i, c, r in zip(ds["id"], ds[REF_COLUMNS[0]], ds[REF_COLUMNS[1]])}
    return values, trainer.ref_forward_batches


def attach_reference(dataset: Dataset, values: dict[str, tuple[float, float]]) -> Dataset:
    """Add the cached columns. Rows TRL dropped for length get NaN and are dropped again by TRL."""
    chosen = [values.get(str(i), (math.nan, math.nan))[0] for i in dataset["id"]]
    rejected = [values.get(str(i), (math.nan, math.nan))[1] for i in dataset["id"]]
    return dataset.add_column(REF_COLUMNS[0], chosen).add_column(REF_COLUMNS[1], rejected)
