"""train.precision: resolved for the machine, passed to TRL, recorded in the job's result info;
and length-grouped preference batches."""
from __future__ import annotations

import pytest
import torch
from datasets import Dataset

from harness.config import TrainSpec
from harness.errors import HarnessError
from harness.methods import build_method
from harness.train import precision
from harness.train.precision import resolve_precision
from harness.train.runner import dpo_args, train_method


@pytest.mark.parametrize("native", [True, False])
def test_auto_on_cpu_follows_native_bf16(monkeypatch, native: bool) -> None:
    monkeypatch.setattr(precision, "cpu_bf16_native", lambda: native)
    assert resolve_precision("auto", cuda=False) == ("bf16" if native else "fp32")
    assert resolve_precision("fp32", cuda=False) == "fp32"  # asked for: taken as asked
    assert resolve_precision("bf16", cuda=False) == "bf16"


def test_auto_on_cuda(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_precision("auto", cuda=True) == "bf16"
    assert resolve_precision("auto", weights="float16", cuda=True) == "fp16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_precision("auto", cuda=True) == "fp32"


def test_fp16_on_cpu_is_refused() -> None:
    with pytest.raises(HarnessError, match="train.precision: fp16 mixed precision needs a CUDA device"):
        resolve_precision("fp16", cuda=False)


def test_native_bf16_detection_matches_cpuinfo() -> None:
    try:
        flags = open("/proc/cpuinfo").read().split()
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    assert precision.cpu_bf16_native() == ("avx512_bf16" in flags or "amx_tile" in flags)


def test_config_field_reaches_trl(tmp_path) -> None:
    assert dpo_args(tmp_path, TrainSpec(precision="bf16"), 0, precompute=True).bf16
    args = dpo_args(tmp_path, TrainSpec(precision="fp32"), 0, precompute=True)
    assert not args.bf16 and not args.fp16
    assert args.train_sampling_strategy == "random"
    grouped = dpo_args(tmp_path, TrainSpec(group_by_length=True), 0, precompute=True)
    assert grouped.train_sampling_strategy == "group_by_length"


def _rows(splits):
    return [{k: r[k] for k in ("id", "prompt", "chosen", "rejected", "kind")} for r in splits.preference]


def test_bf16_training_records_its_precision_and_groups_by_length(tmp_path, tiny_model_dir, tiny_splits) -> None:
    """A reference-free method trained under bf16 autocast on CPU; the info says bf16; the grouped
    sampler makes batches of near-equal length."""
    spec = TrainSpec(max_steps=2, batch_size=4, learning_rate=1e-3, max_length=96, logps_every=1, probe_pairs=2,
                     precision="bf16", group_by_length=True)
    rows = _rows(tiny_splits)
    info, tables = train_method(build_method("orpo"), str(tiny_model_dir), Dataset.from_list(rows), spec,
                                tmp_path, 0, {"dynamics": {"near_miss": rows[:2]}})
    assert info["precision"] == "bf16" and info["steps"] == 2
    assert all(torch.isfinite(torch.tensor(r["logp_chosen"])) for r in tables["dynamics"])


def test_grouped_batches_pad_less_than_random(tiny_model_dir, tiny_splits, tmp_path) -> None:
    from harness.models.load import load_model, load_tokenizer
    from harness.train.adapter import MethodTrainer
    from harness.train.sampler import preference_lengths
    rows = _rows(tiny_splits)
    # lengths that differ a lot: every other pair's answers padded with a long tail
    for r in rows[::2]:
        for side in ("chosen", "rejected"):
            r[side] = [{"role": "assistant", "content": r[side][0]["content"] + " ;" * 30}]

    def padding(grouped: bool) -> int:
        spec = TrainSpec(max_steps=1, batch_size=4, max_length=256, precision="fp32", group_by_length=grouped)
        trainer = MethodTrainer(model=load_model(str(tiny_model_dir)), args=dpo_args(tmp_path, spec, 0, precompute=False),
                                train_dataset=Dataset.from_list(rows), processing_class=load_tokenizer(str(tiny_model_dir)),
                                method=build_method("orpo"))
        lengths = preference_lengths(trainer.train_dataset)
        order = list(trainer._get_train_sampler())
        assert sorted(order) == list(range(len(lengths)))  # every pair once
        batches = [order[i:i + 4] for i in range(0, len(order), 4)]
        return sum(max(lengths[j] for j in b) * len(b) - sum(lengths[j] for j in b) for b in batches)

    assert padding(True) < 0.5 * padding(False)
