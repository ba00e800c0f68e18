"""Load a checkpoint of the run in the run's dtype: one function, used by every stage that loads
weights (training, reference, token log-probs, HF generation), so `model.dtype` governs them all.
vLLM gets the same name through `generation` (harness/generate/vllm.py)."""
from __future__ import annotations

from pathlib import Path

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def load_model(model_dir: str | Path, dtype: str = "float32", **kwargs):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=DTYPES[dtype], **kwargs)


def load_tokenizer(model_dir: str | Path):
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def module_names(config) -> set[str]:
    """Leaf names of the model's modules (`q_proj`, `down_proj`, ...), built from its config on the
    meta device: no weights are loaded, so a `peft.target_modules` typo is caught in a second."""
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return {name.rsplit(".", 1)[-1] for name, _ in model.named_modules() if name}
