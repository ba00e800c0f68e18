"""Training precision: the `train.precision` a config asks for, resolved for this machine.

`auto` trains in bf16 mixed precision (weights and optimiser in the model's dtype, matrix
products under bf16 autocast) where the hardware runs bf16 natively: a CUDA device that supports
it, or a CPU with AVX512-BF16 or AMX. Elsewhere it trains in fp32: a CPU without them emulates
bf16, slower than fp32 and not bit-identical to one with them. `fp32`, `bf16` and `fp16` are
taken as asked (fp16 only on CUDA). The resolved value goes into the training job's result info,
since `auto` can resolve differently on two machines.
"""
from __future__ import annotations

from typing import Literal

import torch

from harness.errors import HarnessError

Requested = Literal["auto", "fp32", "bf16", "fp16"]
Resolved = Literal["fp32", "bf16", "fp16"]


def cpu_bf16_native() -> bool:
    """AVX512-BF16 or AMX, as torch's own CPU dispatch detects them."""
    return any(getattr(torch.cpu, name, lambda: False)()
               for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def resolve_precision(requested: str, *, weights: str = "float32", cuda: bool | None = None) -> Resolved:
    """`requested` (a `train.precision` value) -> the precision this machine trains in. On CUDA,
    `auto` keeps float16 weights (model.dtype) in fp16."""
    cuda = torch.cuda.is_available() if cuda is None else cuda
    if requested == "auto" and cuda and weights == "float16":
        return "fp16"
    if requested == "auto":
        native = torch.cuda.is_bf16_supported() if cuda else cpu_bf16_native()
        return "bf16" if native else "fp32"
    if requested == "fp16" and not cuda:
        raise HarnessError("fp16 mixed precision needs a CUDA device: use bf16, fp32 or auto on a CPU",
                           field="train.precision")
    if requested not in ("fp32", "bf16", "fp16"):
        raise HarnessError(f"unknown precision {requested!r}; valid: auto, fp32, bf16, fp16",
                           field="train.precision")
    return requested  # type: ignore[return-value]


def trainer_flags(precision: Resolved) -> dict[str, bool]:
    """transformers' TrainingArguments flags (autocast on CPU and CUDA alike)."""
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def trained_precision(args) -> Resolved:
    """What a trainer's TrainingArguments trained in (for the job's result info)."""
    return "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32"
