"""The TRL adapter on a real tiny model: losses at step 0 equal the formulas evaluated on log-probs
computed independently (harness.train.logps), and the shared reference cache is really used."""
import math

import pytest
import torch
from datasets import Dataset

from harness.config import TrainSpec
from harness.methods import build_method
from harness.methods.base import log1mexp
from harness.train.logps import pair_logps
from harness.train.reference import attach_reference, compute_reference_logps
from harness.train.runner import dpo_args, train_method

SPEC = TrainSpec(max_steps=1, batch_size=40, learning_rate=1e-9, max_length=96, logps_every=1, probe_pairs=4,
                 precision="fp32")  # exact comparisons with fp32 log-probs


def _rows(splits):
    return [{k: r[k] for k in ("id", "prompt", "chosen", "rejected", "kind")} for r in splits.preference]


@pytest.fixture(scope="module")
def reference(tiny_model_dir, tiny_splits, tmp_path_factory):
    rows = _rows(tiny_splits)
    args = dpo_args(tmp_path_factory.mktemp("ref"), SPEC, 0, precompute=True)
    values, batches = compute_reference_logps(str(tiny_model_dir), Dataset.from_list(rows), args)
    return rows, values, batches


def test_reference_logps_match_independent_computation(tiny_model_dir, reference):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    rows, values, batches = reference
    assert batches >= 1 and len(values) == len(rows)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    mine = pair_logps(model, tok, rows)
    for r, m in zip(rows, mine):
        assert values[r["id"]][0] == pytest.approx(m["chosen_sum"], abs=1e-3)
        assert values[r["id"]][1] == pytest.approx(m["rejected_sum"], abs=1e-3)


def _first_loss(tmp_path, tiny_model_dir, rows, method, values):
    ds = Dataset.from_list(rows)
    if method.needs_reference:
        ds = attach_reference(ds, values)
    info, dynamics = train_method(method, str(tiny_model_dir), ds, SPEC, tmp_path, 0, {"dynamics": {"near_miss": rows[:2]}})
    return info, dynamics["dynamics"]


def test_dpo_first_step_is_log2_and_uses_cached_reference(tmp_path, tiny_model_dir, reference):
    rows, values, _ = reference
    info, dynamics = _first_loss(tmp_path, tiny_model_dir, rows, build_method("dpo"), values)
    assert info["log_history"][0]["loss"] == pytest.approx(math.log(2), abs=1e-4)
    assert info["ref_forward_batches"] == 0  # the shared cache, not a reference forward pass
    assert [d["step"] for d in dynamics] == [0, 1]


def test_asft_first_step_matches_formula(tmp_path, tiny_model_dir, tiny_splits, reference):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    rows, values, _ = reference
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    lp = pair_logps(model, tok, rows)
    from harness.train.logps import tokenize_pair
    lens = [tokenize_pair(tok, r) for r in rows]
    lw = torch.tensor([m["chosen_sum"] / len(c) for m, (_, c, _) in zip(lp, lens)])
    ll = torch.tensor([m["rejected_sum"] / len(rj) for m, (_, _, rj) in zip(lp, lens)])
    expected = (-lw - 1.0 * (lw + log1mexp(ll))).mean().item()
    info, _ = _first_loss(tmp_path, tiny_model_dir, rows, build_method("asft"), values)
    assert info["log_history"][0]["loss"] == pytest.approx(expected, rel=1e-3)
    assert info["ref_forward_batches"] == 0


def test_without_cache_trl_runs_reference_every_step(tmp_path, tiny_model_dir, reference):
    """TRL's default path (no precomputed columns) still works through the adapter and counts
    its reference forward passes: what scripts/bench_ref_cache.py compares against."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.train.adapter import MethodTrainer
    rows, _, _ = reference
    args = dpo_args(tmp_path, SPEC, 0, precompute=False)
    args.logging_steps = 1
    trainer = MethodTrainer(model=AutoModelForCausalLM.from_pretrained(tiny_model_dir), args=args,
                            train_dataset=Dataset.from_list(rows),
                            processing_class=AutoTokenizer.from_pretrained(tiny_model_dir),
                            method=build_method("dpop"))
    trainer.train()
    assert trainer.ref_forward_batches == 1
    assert trainer.state.log_history[0]["loss"] == pytest.approx(math.log(2), abs=1e-4)
