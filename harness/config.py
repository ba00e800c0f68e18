"""The run configuration: pydantic models, one per section; unknown keys are errors.

Errors read like ``tasks/runs/quickstart.yaml: methods[2] (dpop).lambda_: must be >= 0``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import HarnessError
from harness.judge.config import JudgeConfig
from harness.models.tiny import TinyModelConfig


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(Strict):
    """Either build the embedded model (`embedded`) or start from a local HF checkpoint (`path`)."""
    embedded: TinyModelConfig | None = None
    path: str | None = None
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"


class SyntheticData(Strict):
    n_sft: int = Field(4000, ge=0)
    n_preference: int = Field(600, ge=1)
    n_test: int = Field(100, ge=1)
    max_value: int = Field(99, ge=2)
    n_ops: int = Field(2, ge=2, description="operations per problem; a near miss corrupts an intermediate result")
    kinds: tuple[Literal["near_miss", "far_miss"], ...] = ("near_miss", "far_miss")


class PreferenceSource(Strict):
    """A preference data set from one of the loaders in harness.data (beyond the synthetic task)."""
    loader: Literal["hh_rlhf", "ultrafeedback", "generic"]
    path: str
    limit: int | None = Field(None, ge=1)
    offset: int = Field(0, ge=0)
    skip_bad_rows: bool = False
    options: dict[str, Any] = Field(default_factory=dict)


class DataSpec(Strict):
    synthetic: SyntheticData = SyntheticData()
    sft_extra: list[PreferenceSource] = Field(default_factory=list,
                                              description="chosen answers added to the starting-checkpoint SFT")
    preference_extra: list[PreferenceSource] = Field(default_factory=list)


class TrainSpec(Strict):
    max_steps: int = Field(100, ge=1)
    batch_size: int = Field(16, ge=1)
    learning_rate: float = Field(1e-4, gt=0)
    warmup_steps: int = Field(0, ge=0)
    max_length: int = Field(256, ge=8)
    logps_every: int = Field(10, ge=1, description="likelihood-dynamics probe interval (steps)")
    probe_pairs: int = Field(32, ge=1, description="held-out pairs per kind probed for dynamics")


class SFTSpec(Strict):
    """Training of the common starting checkpoint. Null in the config: start from model.path as is."""
    max_steps: int = Field(300, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(3e-3, gt=0)
    warmup_steps: int = Field(20, ge=0)
    max_length: int = Field(256, ge=8)


class MethodSpec(Strict):
    name: str
    label: str | None = None  # leaderboard row name; defaults to name
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def row(self) -> str:
        return self.label or self.name


class TaskSpec(Strict):
    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class GenerationSpec(Strict):
    backend: Literal["auto", "vllm", "hf"] = "auto"
    batch_size: int = Field(64, ge=1)


class RunConfig(Strict):
    run_name: str
    seed: int = 0
    results_dir: str = "results"
    cache_dir: str | None = None
    model: ModelSpec
    data: DataSpec = DataSpec()
    sft: SFTSpec | None = SFTSpec()
    train: TrainSpec = TrainSpec()
    methods: list[MethodSpec]
    include_base: bool = Field(True, description="also evaluate the starting checkpoint as row 'base'")
    tasks: list[TaskSpec]
    generation: GenerationSpec = GenerationSpec()
    judge: JudgeConfig | None = None
    baseline: str | None = Field(None, description="method row for paired bootstrap comparisons")
    tasks_dirs: list[str] = Field(default_factory=list)

    @field_validator("methods", mode="before")
    @classmethod
    def _method_shorthand(cls, v: Any) -> Any:
        return [{"name": m} if isinstance(m, str) else m for m in v] if isinstance(v, list) else v

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_shorthand(cls, v: Any) -> Any:
        return [{"name": t} if isinstance(t, str) else t for t in v] if isinstance(v, list) else v


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """`--set a.b=v` pairs to a nested dict; values parsed as YAML scalars."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise HarnessError(f"--set expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = yaml.safe_load(value)
    return out


def _merge(base: dict, over: dict) -> dict:
    for k, v in over.items():
        base[k] = _merge(dict(base.get(k) or {}), v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return base


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Load and validate a run config, then check method and task names and hyper-parameters."""
    path = Path(path)
    if not path.exists():
        raise HarnessError("config file not found", file=path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise HarnessError(f"invalid YAML ({getattr(exc, 'problem', exc)})", file=path,
                           row=mark.line + 1 if mark else None) from None
    if not isinstance(raw, dict):
        raise HarnessError("expected a mapping at the top level", file=path)
    raw = _merge(raw, parse_overrides(overrides or []))
    try:
        cfg = RunConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        msg = err["msg"].lower() if err["type"] != "extra_forbidden" else "unknown field"
        raise HarnessError(msg + more, file=path, field=_loc(err["loc"])) from None
    if cfg.model.embedded is None and cfg.model.path is None:
        raise HarnessError("set either model.embedded or model.path", file=path, field="model")
    _check_methods(cfg, path)
    if cfg.baseline is not None and cfg.baseline not in {"base", *(m.row for m in cfg.methods)}:
        raise HarnessError(f"baseline {cfg.baseline!r} is not a method row of this run", file=path,
                           field="baseline")
    return cfg


def skip_bad_rows_everywhere(cfg: RunConfig) -> RunConfig:
    """The `--skip-bad-rows` flag: every data source skips (and records) malformed rows."""
    data = cfg.data.model_copy(update={
        "sft_extra": [s.model_copy(update={"skip_bad_rows": True}) for s in cfg.data.sft_extra],
        "preference_extra": [s.model_copy(update={"skip_bad_rows": True}) for s in cfg.data.preference_extra]})
    return cfg.model_copy(update={"data": data})


def _check_methods(cfg: RunConfig, path: Path) -> None:
    from harness.methods import build_method

    rows = [m.row for m in cfg.methods]
    dup = {r for r in rows if rows.count(r) > 1}
    if dup:
        raise HarnessError(f"duplicate method rows {sorted(dup)}: give each a distinct label",
                           file=path, field="methods")
    for i, m in enumerate(cfg.methods):
        try:
            build_method(m.name, m.params, where=f"methods[{i}]")
        except HarnessError as exc:
            raise HarnessError(exc.message, file=path, field=exc.field) from None
