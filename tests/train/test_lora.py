"""LoRA through the TRL adapter on a real tiny model: the shared reference cache equals TRL's own
reference (the policy with its adapters disabled), the adapter is saved and merged, and the merged
checkpoint computes what base + adapter compute."""
import json

import pytest
import torch
from datasets import Dataset

from harness.config import PeftSpec, TrainSpec
from harness.methods import build_method
from harness.models.load import load_model, load_tokenizer
from harness.train.adapter import MethodTrainer
from harness.train.peft import lora_config
from harness.train.reference import REF_COLUMNS, attach_reference, compute_reference_logps
from harness.train.runner import dpo_args, train_method

SPEC = TrainSpec(max_steps=3, batch_size=4, learning_rate=5e-3, max_length=96, logps_every=2, probe_pairs=4,
                 precision="fp32")
PEFT = PeftSpec(r=4, alpha=8, dropout=0.0, target_modules=["q_proj", "v_proj", "down_proj"])


def _rows(splits):
    return [{k: r[k] for k in ("id", "prompt", "chosen", "rejected", "kind")} for r in splits.preference]


def test_shared_reference_equals_trl_reference_with_adapters_disabled(tiny_model_dir, tiny_splits, tmp_path):
    rows = _rows(tiny_splits)
    args = dpo_args(tmp_path / "ref", SPEC, 0, precompute=True)
    shared, _ = compute_reference_logps(str(tiny_model_dir), Dataset.from_list(rows), args)
    # TRL's own precompute pass on a LoRA policy: no reference model, adapters disabled
    trainer = MethodTrainer(model=load_model(tiny_model_dir), args=dpo_args(tmp_path / "trl", SPEC, 0, precompute=True),
                            train_dataset=Dataset.from_list(rows), processing_class=load_tokenizer(tiny_model_dir),
                            method=build_method("dpo"), peft_config=lora_config(PEFT))
    assert trainer.ref_model is None
    ds = trainer.train_dataset
    for i, c, r in zip(ds["id"], ds[REF_COLUMNS[0]], ds[REF_COLUMNS[1]]):
        assert shared[i][0] == pytest.approx(c, abs=1e-3) and shared[i][1] == pytest.approx(r, abs=1e-3)


def test_lora_training_saves_adapter_and_merged_weights(tiny_model_dir, tiny_splits, tmp_path):
    rows = _rows(tiny_splits)
    args = dpo_args(tmp_path / "ref", SPEC, 0, precompute=True)
    values, _ = compute_reference_logps(str(tiny_model_dir), Dataset.from_list(rows), args)
    dataset = attach_reference(Dataset.from_list(rows), values)
    probes = {"dynamics": {"near_miss": [r for r in tiny_splits.test_pairs if r["kind"] == "near_miss"][:4]}}
    info, tables = train_method(build_method("dpo"), str(tiny_model_dir), dataset, SPEC, tmp_path / "stage", 0,
                                  probes, peft=PEFT)
    dynamics = tables["dynamics"]
    assert info["steps"] == 3 and info["global_batch"] == 4 and info["ref_forward_batches"] == 0
    adapter = json.loads((tmp_path / "stage/adapter/adapter_config.json").read_text())
    assert adapter["r"] == 4 and set(adapter["target_modules"]) == {"q_proj", "v_proj", "down_proj"}
    assert [d["step"] for d in dynamics] == [0, 2, 3]
    assert dynamics[-1]["logp_chosen"] != dynamics[0]["logp_chosen"]  # the adapter trained

    from peft import PeftModel
    base = load_model(tiny_model_dir)
    merged = load_model(tmp_path / "stage/model")
    assert not any("lora" in k for k in merged.state_dict())  # a plain checkpoint
    changed = [k for k, v in merged.state_dict().items() if not torch.equal(v, base.state_dict()[k])]
    assert changed and all(any(m in k for m in ("q_proj", "v_proj", "down_proj")) for k in changed)
    with_adapter = PeftModel.from_pretrained(load_model(tiny_model_dir), str(tmp_path / "stage/adapter")).eval()
    ids = torch.tensor([[1, 5, 9, 14, 20, 33]])
    with torch.no_grad():
        assert torch.allclose(merged.eval()(ids).logits, with_adapter(ids).logits, atol=1e-4)


def test_lora_without_the_cache_uses_the_policy_with_adapters_disabled(tiny_model_dir, tiny_splits, tmp_path):
    """TRL's default (a reference forward every step) with LoRA: there is no reference model, the
    policy with its adapters disabled is the reference, and DPO's first loss is ln 2."""
    import math
    spec = SPEC.model_copy(update={"max_steps": 2})
    args = dpo_args(tmp_path / "trl", spec, 0, precompute=False)
    args.save_strategy, args.logging_steps = "no", 1
    trainer = MethodTrainer(model=load_model(tiny_model_dir), args=args, train_dataset=Dataset.from_list(_rows(tiny_splits)),
                            processing_class=load_tokenizer(tiny_model_dir), method=build_method("dpo"),
                            peft_config=lora_config(PEFT))
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert trainer.ref_model is None and trainer.ref_forward_batches == 2
    assert float(losses[0]) == pytest.approx(math.log(2), abs=1e-3)
