"""Benchmark: one DPO training job as one process vs as two torchrun processes (gloo on CPU) at
the same global batch (8 = 8 x 1 = 4 x 2), from the same starting checkpoint with the shared
reference cache: the loss at every logged step, the final weights, and the wall times.

On 2 CPU cores two processes cannot be faster than one process using both cores; the point is
that the multi-process path a GPU cluster takes trains the same model.

    python scripts/bench_launcher.py [--steps 20]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _bench import ROOT, machine_info, ratio, write_result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "launcher.json")
    a = ap.parse_args()

    from datasets import Dataset
    from safetensors.torch import load_file

    from harness.config import SFTSpec, TrainSpec
    from harness.data import synthetic
    from harness.methods import build_method
    from harness.models.tiny import TinyModelConfig, build_model, train_tokenizer
    from harness.train.launch import launch_train_method
    from harness.train.reference import attach_reference, compute_reference_logps
    from harness.train.runner import dpo_args, train_method, train_sft

    machine = machine_info()
    one = TrainSpec(max_steps=a.steps, batch_size=8, learning_rate=1e-3, max_length=96, logps_every=5, probe_pairs=4)
    two = one.model_copy(update={"batch_size": 4, "launcher": "torchrun", "processes": 2})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        splits = synthetic.build(seed=0, n_sft=200, n_preference=20, n_test=10, max_value=20)
        tok = train_tokenizer([m["content"] for r in splits.sft for m in r["messages"]], 300, root / "tok")
        build_model(TinyModelConfig(vocab_size=300, hidden_size=128, num_layers=2, num_heads=2, intermediate_size=256),
                    tok, root / "init")
        train_sft(str(root / "init"), [{"messages": r["messages"]} for r in splits.sft],
                  SFTSpec(max_steps=10, batch_size=16, warmup_steps=1, max_length=96), root / "sft", seed=0)
        start = str(root / "sft" / "model")
        rows = [{k: r[k] for k in ("id", "prompt", "chosen", "rejected", "kind")} for r in splits.preference]
        values, _ = compute_reference_logps(start, Dataset.from_list(rows), dpo_args(root / "ref", one, 0, precompute=True))
        data = attach_reference(Dataset.from_list(rows), values)
        probes = {"dynamics": {"near_miss": [r for r in splits.test_pairs if r["kind"] == "near_miss"][:4]}}
        t0 = time.perf_counter()
        info1, _ = train_method(build_method("dpo"), start, data, one, root / "one", 0, probes)
        one_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        info2, _ = launch_train_method(build_method("dpo"), start, data, two, root / "two", 0, probes, peft=None,
                                       dtype="float32")
        two_s = time.perf_counter() - t0
        w1, w2 = (load_file(str(root / d / "model" / "model.safetensors")) for d in ("one", "two"))
        weight_diff = max((w1[k] - w2[k]).abs().max().item() for k in w1)
    l1 = [(h["step"], h["loss"]) for h in info1["log_history"] if "loss" in h]
    l2 = [(h["step"], h["loss"]) for h in info2["log_history"] if "loss" in h]
    loss_diff = max(abs(x[1] - y[1]) for x, y in zip(l1, l2))
    result = {
        "benchmark": "one DPO training job: 1 process (batch 8) vs torchrun 2 processes (batch 4 each), gloo on CPU",
        "sizes": {"steps": a.steps, "global_batch": [info1["global_batch"], info2["global_batch"]], "pairs": len(rows)},
        "loss": {"one_process": l1, "two_processes": l2, "max_abs_diff": loss_diff},
        "final_weights_max_abs_diff": weight_diff,
        "wall_s": {"one_process": round(one_s, 3), "two_processes": round(two_s, 3),
                   "ratio_two_over_one": ratio(two_s, one_s)},
        "note": "two_processes includes starting torchrun and importing torch/TRL in both ranks",
        "script": "scripts/bench_launcher.py", "command": f"python scripts/bench_launcher.py --steps {a.steps}",
    }
    print(f"max loss diff {loss_diff:.2e}, max weight diff {weight_diff:.2e}; "
          f"one process {one_s:.2f} s vs two {two_s:.2f} s")
    write_result(a.out, result, machine)


if __name__ == "__main__":
    main()
