"""One training job as two processes (torchrun, gloo on CPU) against one process at the same
global batch: DPO with the shared reference cache, 6 steps. The loss curves must agree to 1e-4
per logged step (the two halves of a batch are averaged across ranks instead of within one
forward pass: only float summation order differs), and so must the final weights (1e-4)."""
import json

import pytest
import torch
from datasets import Dataset
from safetensors.torch import load_file

from harness.config import TrainSpec
from harness.errors import HarnessError
from harness.methods import build_method
from harness.train.launch import check_devices, launch_train_method
from harness.train.reference import attach_reference, compute_reference_logps
from harness.train.runner import dpo_args, train_method

ONE = TrainSpec(max_steps=6, batch_size=8, learning_rate=1e-3, max_length=96, logps_every=3, probe_pairs=4,
                precision="fp32")
TWO = ONE.model_copy(update={"batch_size": 4, "launcher": "torchrun", "processes": 2})


def _losses(stage) -> list[tuple[int, float]]:
    history = json.loads((stage / "trainer" / "checkpoint-6" / "trainer_state.json").read_text())["log_history"]
    return [(h["step"], h["loss"]) for h in history if "loss" in h]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_gloo_processes_follow_one_process_at_the_same_global_batch(tiny_model_dir, tiny_splits, tmp_path):
    rows = [{k: r[k] for k in ("id", "prompt", "chosen", "rejected", "kind")} for r in tiny_splits.preference]
    values, _ = compute_reference_logps(str(tiny_model_dir), Dataset.from_list(rows),
                                        dpo_args(tmp_path / "ref", ONE, 0, precompute=True))
    data = attach_reference(Dataset.from_list(rows), values)
    probes = {"dynamics": {"near_miss": [r for r in tiny_splits.test_pairs if r["kind"] == "near_miss"][:4]}}
    dpo = build_method("dpo")
    info1, dyn1 = train_method(dpo, str(tiny_model_dir), data, ONE, tmp_path / "one", 0, probes)
    info2, dyn2 = launch_train_method(dpo, str(tiny_model_dir), data, TWO, tmp_path / "two", 0, probes,
                                      peft=None, dtype="float32")
    assert info1["global_batch"] == info2["global_batch"] == 8 and info2["steps"] == 6
    assert info2["ref_forward_batches"] == 0  # the shared cache's columns, no reference forward
    one, two = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert [s for s, _ in one] == [s for s, _ in two] and len(one) >= 3
    assert max(abs(a - b) for (_, a), (_, b) in zip(one, two)) < 1e-4, (one, two)
    assert one[0][1] != one[-1][1]  # it trained
    w1, w2 = (load_file(str(tmp_path / d / "model" / "model.safetensors")) for d in ("one", "two"))
    assert max((w1[k] - w2[k]).abs().max().item() for k in w1) < 1e-4
    assert [r["step"] for r in dyn2["dynamics"]] == [r["step"] for r in dyn1["dynamics"]]  # rank 0 measured the dynamics


def test_more_processes_than_devices_is_one_line():
    import os
    n = (torch.cuda.device_count() if torch.cuda.is_available() else os.cpu_count()) + 1
    with pytest.raises(HarnessError, match=f"{n} training processes, but this machine has"):
        check_devices(n)


def test_accelerate_without_cuda_is_refused_not_run_as_one_process():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: accelerate launch starts one process per device")
    with pytest.raises(HarnessError, match="use launcher: torchrun"):
        check_devices(2, "accelerate")
