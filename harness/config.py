"""The run configuration: pydantic models, one per section; unknown keys are errors.

Errors read like ``tasks/runs/quickstart.yaml: methods[2] (dpop).lambda_: must be >= 0``.
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import HarnessError
from harness.judges.config import JudgeConfig
from harness.models.tiny import TinyModelConfig


# transformers' optimizer and scheduler names (OptimizerNames, SchedulerType), copied because importing
# transformers.training_args to check a config costs seconds; tests/test_config.py fails when they drift.
OPTIMIZERS = (
    "adamw_torch", "adamw_torch_fused", "adamw_torch_xla", "adamw_torch_npu_fused", "adafactor",
    "adamw_anyprecision", "adamw_torch_4bit", "adamw_torch_8bit", "ademamix", "sgd", "adagrad",
    "adamw_bnb_8bit", "adamw_8bit", "ademamix_8bit", "lion_8bit", "lion_32bit", "paged_adamw_32bit",
    "paged_adamw_8bit", "paged_ademamix_32bit", "paged_ademamix_8bit", "paged_lion_32bit",
    "paged_lion_8bit", "rmsprop", "rmsprop_bnb", "rmsprop_bnb_8bit", "rmsprop_bnb_32bit",
    "galore_adamw", "galore_adamw_8bit", "galore_adafactor", "galore_adamw_layerwise",
    "galore_adamw_8bit_layerwise", "galore_adafactor_layerwise", "lomo", "adalomo", "grokadamw",
    "schedule_free_radam", "schedule_free_adamw", "schedule_free_sgd", "apollo_adamw",
    "apollo_adamw_layerwise", "stable_adamw",
)
SCHEDULERS = (
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
    "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr",
    "warmup_stable_decay", "greedy",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(Strict):
    """Either build the embedded model (`embedded`) or start from `path`: an HF checkpoint folder,
    a GGUF file, or `pkg:<package>/<file>` (a file an installed package ships)."""
    embedded: TinyModelConfig | None = None
    path: str | None = None
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="every load: training, reference, log-probs, HF and vLLM generation")
    chat_template: str | None = Field(None, description="Jinja (inline or a .jinja file) replacing the "
                                                        "tokenizer's own chat template")


class SyntheticData(Strict):
    n_sft: int = Field(4000, ge=0)
    n_preference: int = Field(600, ge=1)
    n_test: int = Field(100, ge=1)
    n_dev: int = Field(0, ge=0, description="held-out dev problems (synthetic_arith split: dev) for tuning")
    max_value: int = Field(99, ge=2)
    n_ops: int = Field(2, ge=2, description="operations per problem; a near miss corrupts an intermediate result")
    kinds: tuple[Literal["near_miss", "far_miss"], ...] = ("near_miss", "far_miss")


class PreferenceSource(Strict):
    """A preference data set from one of the loaders in harness.data (beyond the synthetic task)."""
    loader: str = Field(description="a name in harness.data.LOADERS")
    path: str
    limit: int | None = Field(None, ge=1)
    offset: int = Field(0, ge=0)
    skip_bad_rows: bool = False
    heldout: int = Field(0, ge=0, description="first rows held out of training as probe/test pairs "
                                              "(likelihood dynamics, token log-probs), kind = loader name")
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("loader")
    @classmethod
    def _known_loader(cls, v: str) -> str:
        from harness.data import LOADERS
        if v not in LOADERS:
            raise ValueError(LOADERS.unknown(v))
        return v

    @model_validator(mode="after")
    def _known_options(self):
        """Options are the loader's own keyword arguments (they once failed only when data was prepared)."""
        import inspect

        from harness.data import LOADERS
        from harness.registry import load_object
        params = inspect.signature(load_object(LOADERS.get(self.loader))).parameters
        own = {"path", "skip_bad_rows", "limit", "offset"}  # fields of this section
        valid = sorted(k for k, p in params.items() if k not in own and p.kind is p.KEYWORD_ONLY)
        for key in self.options:
            if key in own:
                raise ValueError(f"options.{key}: set {key} as a field of this source, not as an option")
            if key not in valid:
                raise ValueError(f"options.{key}: unknown option of loader {self.loader!r}; valid: {', '.join(valid)}")
        return self


class DataSpec(Strict):
    synthetic: SyntheticData | None = SyntheticData()
    sft_extra: list[PreferenceSource] = Field(default_factory=list,
                                              description="chosen answers added to the starting-checkpoint SFT")
    preference_extra: list[PreferenceSource] = Field(default_factory=list)

    @field_validator("sft_extra")
    @classmethod
    def _no_heldout_in_sft(cls, v: list[PreferenceSource]) -> list[PreferenceSource]:
        for i, src in enumerate(v):
            if src.heldout:
                raise ValueError(f"sft_extra[{i}].heldout: held-out probe pairs come from preference_extra; "
                                 "use offset/limit to choose SFT rows")
        return v


#: transformers' reporting integrations (transformers.integrations.INTEGRATION_TO_CALLBACK), each
#: needing its own package (tensorboard, wandb, mlflow, ...).
TRACKERS = ("azure_ml", "clearml", "codecarbon", "comet_ml", "dagshub", "dvclive", "flyte", "kubeflow", "mlflow",
            "neptune", "swanlab", "tensorboard", "trackio", "wandb")


class OptimSpec(Strict):
    """The TRL/transformers training arguments a real run needs. `batch_size` is per device; the
    global batch is batch_size x devices x gradient_accumulation_steps."""
    max_steps: int | None = Field(100, ge=1)
    num_epochs: float | None = Field(None, gt=0, description="instead of max_steps")
    batch_size: int = Field(16, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    gradient_checkpointing: bool = False
    learning_rate: float = Field(1e-4, gt=0)
    lr_scheduler: str = "linear"
    warmup_steps: int = Field(0, ge=0)
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    optimizer: str = "adamw_torch"
    weight_decay: float = Field(0.0, ge=0)
    adam_beta1: float = Field(0.9, ge=0, lt=1)
    adam_beta2: float = Field(0.999, ge=0, lt=1)
    max_grad_norm: float = Field(1.0, gt=0)
    max_length: int = Field(256, ge=8)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="mixed precision: auto = bf16 where the hardware runs it natively (CUDA, a CPU "
                            "with AVX512-BF16 or AMX), else fp32 (harness.train.precision)")
    # How training is logged, not what it computes: `exclude` keeps it out of model_dump, so out of
    # every cache key (changing it retrains nothing) and out of the manifest's config.
    report_to: list[str] = Field(default_factory=list, exclude=True,
                                 description="training curves to these trackers, e.g. [tensorboard] or [wandb] "
                                             "(each job's under <stage>/trainer/runs/)")

    @field_validator("report_to")
    @classmethod
    def _known_trackers(cls, v: list[str]) -> list[str]:
        for name in v:
            if name not in TRACKERS:
                close = difflib.get_close_matches(name, TRACKERS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"unknown tracker {name!r}{hint}; valid: {', '.join(TRACKERS)}")
        return v

    @model_validator(mode="after")
    def _steps_or_epochs(self):
        if self.num_epochs is not None:
            if "max_steps" in self.model_fields_set and self.max_steps is not None:
                raise ValueError("set max_steps or num_epochs, not both")
            object.__setattr__(self, "max_steps", None)
        elif self.max_steps is None:
            raise ValueError("set max_steps or num_epochs")
        if self.warmup_steps and self.warmup_ratio:
            raise ValueError("set warmup_steps or warmup_ratio, not both")
        return self

    @field_validator("optimizer", "lr_scheduler")
    @classmethod
    def _known_name(cls, v: str, info) -> str:
        """transformers' own names: a typo fails here, not deep inside training."""
        what, valid = (("optimizer", OPTIMIZERS) if info.field_name == "optimizer" else ("scheduler", SCHEDULERS))
        if v not in valid:
            raise ValueError(f"unknown {what} {v!r}; valid: {', '.join(valid)}")
        return v


class TrainSpec(OptimSpec):
    logps_every: int = Field(10, ge=1, description="likelihood-dynamics probe interval (steps)")
    probe_pairs: int = Field(32, ge=1, description="held-out pairs per kind probed for dynamics")
    group_by_length: bool = Field(False, description="preference batches of pairs of similar length (less "
                                                     "padding); the starting-checkpoint SFT always groups")
    launcher: Literal["inprocess", "torchrun", "accelerate"] = Field(
        "inprocess", description="how one training job uses several devices (harness.train.launch)")
    processes: int = Field(1, ge=1, description="processes of one training job, one per device; batch_size is "
                                               "per process")
    accelerate_config: str = Field("multi_gpu", description="with launcher: accelerate, one of TRL's shipped "
                                   "configs (multi_gpu, zero1, zero2, zero3, fsdp1, fsdp2) or a path")

    @model_validator(mode="after")
    def _launcher_for_processes(self):
        if self.processes > 1 and self.launcher == "inprocess":
            raise ValueError("processes > 1 needs launcher: torchrun or accelerate")
        return self


class SFTSpec(OptimSpec):
    """Training of the common starting checkpoint. Null in the config: start from model.path as is."""
    max_steps: int | None = Field(300, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(3e-3, gt=0)
    warmup_steps: int = Field(20, ge=0)


class PeftSpec(Strict):
    """LoRA adapters (QLoRA: a 4-bit base, needs a GPU and bitsandbytes) for every training job. The
    reference of reference-based methods is the base without adapters; checkpoints are merged."""
    method: Literal["lora", "qlora"] = "lora"
    r: int = Field(16, ge=1)
    alpha: float = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"


class MethodSpec(Strict):
    name: str
    label: str | None = None  # leaderboard row name; defaults to name
    params: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, Any] = Field(default_factory=dict, description="overrides of the run's `train` fields")

    @property
    def row(self) -> str:
        return self.label or self.name


class TaskSpec(Strict):
    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class VLLMSpec(Strict):
    """vLLM engine arguments of the same names. A data-parallel fan-out is the executor's: answer
    jobs of several checkpoints run side by side on Ray, one device each."""
    tensor_parallel_size: int = Field(1, ge=1, description="devices one engine spans (vLLM's worker processes)")
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    max_model_len: int | None = Field(None, ge=16, description="cap on the context (default: the model's, at most 4096)")
    enforce_eager: bool = Field(True, description="False: CUDA graphs (faster decoding on a GPU, slower start)")


class GenerationSpec(Strict):
    backend: str = Field("auto", description="auto (vLLM, else transformers) or a name in "
                                             "harness.generate.base.BACKENDS")
    batch_size: int = Field(64, ge=1, description="sequences generated at once")
    vllm: VLLMSpec = VLLMSpec()

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        from harness.generate.base import BACKENDS
        if v != "auto" and v not in BACKENDS:
            raise ValueError(BACKENDS.unknown(v, also=("auto",)))
        return v


class JobResources(Strict):
    """What one job asks of a Ray worker (the local executor runs jobs in its own process)."""
    cpus: float = Field(1.0, gt=0)
    gpus: float | None = Field(None, ge=0, description="default: 1 where this machine has a CUDA device, else 0")
    memory_gib: float | None = Field(None, gt=0)


class ResourcesSpec(Strict):
    train: JobResources = JobResources()
    generate: JobResources = JobResources()
    analysis: JobResources = Field(JobResources(), description="starting checkpoint, reference and token log-probs")


class TuningSpec(Strict):
    """How each method's grid point is chosen (harness.tuning): every point tried is trained on
    `seeds`, answers the dev `task`, and the best mean `metric` wins; the chosen point is then
    trained on every run seed and only it is reported on test."""
    task: TaskSpec = Field(description="the dev task, e.g. {name: synthetic_arith, options: {split: dev}}")
    metric: str = Field(description="a metric of the dev task computed without a judge")
    mode: Literal["max", "min"] = "max"
    budget: int | None = Field(None, ge=1, description="points tried per method (default: the largest grid); "
                                                       "a larger grid is sampled at random, seeded")
    seeds: list[int] | None = Field(None, min_length=1, description="training seeds of the grid points "
                                    "(default: the first run seed)")
    unequal_budget: bool = Field(False, description="allow methods with fewer points than the budget")

    @field_validator("task", mode="before")
    @classmethod
    def _task_shorthand(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v


class RunConfig(Strict):
    run_name: str
    seed: int = Field(0, description="seed of data preparation, the starting checkpoint and the report")
    seeds: list[int] | None = Field(None, min_length=1, description="training seeds: every method is trained "
                                    "once per seed from the same starting checkpoint (default: [seed])")
    results_dir: str = "results"
    cache_dir: str | None = None
    model: ModelSpec
    data: DataSpec = DataSpec()
    sft: SFTSpec | None = SFTSpec()
    train: TrainSpec = TrainSpec()
    peft: PeftSpec | None = None
    methods: list[MethodSpec]
    include_base: bool = Field(True, description="also evaluate the starting checkpoint as row 'base'")
    tasks: list[TaskSpec]
    generation: GenerationSpec = GenerationSpec()
    judge: JudgeConfig | None = None
    baseline: str | None = Field(None, description="method row for paired bootstrap comparisons")
    tuning: TuningSpec | None = Field(None, description="needed when a method's params or train hold a list "
                                                        "(a grid)")
    tasks_dirs: list[str] = Field(default_factory=list)
    resources: ResourcesSpec = ResourcesSpec()
    analyses: list[str] = Field(default_factory=lambda: ["dynamics", "token_logps"],
                                description="names in harness.analyses.ANALYSES the run computes")

    @field_validator("run_name")
    @classmethod
    def _one_folder_name(cls, v: str) -> str:
        """results/<run_name>/ is one folder: no path separator, not empty, not . or .."""
        if not v.strip() or "/" in v or "\\" in v or v.strip() in (".", ".."):
            raise ValueError(f"must be a folder name (no / or \\, not empty, . or ..), got {v!r}")
        return v

    @property
    def training_seeds(self) -> list[int]:
        return self.seeds if self.seeds is not None else [self.seed]

    @property
    def tuning_seeds(self) -> list[int]:
        return self.tuning.seeds if self.tuning and self.tuning.seeds else self.training_seeds[:1]

    @field_validator("analyses")
    @classmethod
    def _known_analyses(cls, v: list[str]) -> list[str]:
        from harness.analyses import ANALYSES
        for name in v:
            try:
                ANALYSES.get(name)
            except HarnessError as exc:  # the valid names and a close match, in pydantic's error
                raise ValueError(exc.message) from None
        if len(set(v)) != len(v):
            raise ValueError(f"analyses repeat a name: {v}")
        return v

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError(f"seeds repeat a value: {v}")
        return v

    def train_for(self, spec: MethodSpec) -> TrainSpec:
        """The run's `train` section with the method's own overrides applied."""
        if not spec.train:
            return self.train
        base = self.train.model_dump(exclude_unset=True) | {"report_to": self.train.report_to}
        if "num_epochs" in spec.train:
            base.pop("max_steps", None)
        if "max_steps" in spec.train:
            base.pop("num_epochs", None)
        return TrainSpec.model_validate({**base, **spec.train})

    @field_validator("methods", mode="before")
    @classmethod
    def _method_shorthand(cls, v: Any) -> Any:
        return [{"name": m} if isinstance(m, str) else m for m in v] if isinstance(v, list) else v

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_shorthand(cls, v: Any) -> Any:
        return [{"name": t} if isinstance(t, str) else t for t in v] if isinstance(v, list) else v


def _message(err: dict) -> str:
    """pydantic's message without its "Value error, " prefix; only the first letter lowered (the
    values it quotes, a URL or a name, keep their case)."""
    if err["type"] == "extra_forbidden":
        return "unknown field"
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return msg[:1].lower() + msg[1:]


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_KEY_PART = re.compile(r"([A-Za-z_][\w-]*)((?:\[\d+\])*)")


def _override_path(key: str) -> list[str | int]:
    """`methods[1].params.beta` -> ["methods", 1, "params", "beta"]."""
    steps: list[str | int] = []
    for part in key.split("."):
        m = _KEY_PART.fullmatch(part)
        if not m:
            raise HarnessError(f"--set {key}: cannot read {part!r} (write a.b, or a[0].b for a list item)")
        steps += [m.group(1), *(int(i) for i in re.findall(r"\d+", m.group(2)))]
    return steps


def apply_overrides(raw: dict[str, Any], pairs: list[str]) -> dict[str, Any]:
    """`--set a.b=v` and `--set methods[1].params.beta=0.2` onto a loaded config, in order; values
    are YAML, a mapping merges into the one there. A list item must exist; a bare name in a list
    (`methods: [dpo]`) is short for `{name: dpo}`, so its fields can be set."""
    for pair in pairs:
        if "=" not in pair:
            raise HarnessError(f"--set expects key=value, got {pair!r}")
        key, text = pair.split("=", 1)
        steps = _override_path(key)
        node: Any = raw
        for i, step in enumerate(steps):
            where = _loc(tuple(steps[:i])) or "the config"
            if isinstance(step, int):
                if not isinstance(node, list):
                    raise HarnessError(f"--set {key}: {where} is not a list")
                if step >= len(node):
                    raise HarnessError(f"--set {key}: {where} has {len(node)} item(s), no [{step}]")
            elif not isinstance(node, dict):
                raise HarnessError(f"--set {key}: {where} is not a mapping")
            if i == len(steps) - 1:
                value = yaml.safe_load(text)
                old = node[step] if isinstance(step, int) else node.get(step)
                node[step] = _merge(dict(old), value) if isinstance(value, dict) and isinstance(old, dict) else value
                break
            child = node[step] if isinstance(step, int) else node.get(step)
            if child is None:
                if isinstance(steps[i + 1], int):
                    raise HarnessError(f"--set {key}: {_loc(tuple(steps[:i + 1]))} is not in the config")
                child = {}
            elif isinstance(child, str) and isinstance(node, list):
                child = {"name": child}
            node[step] = child
            node = child
    return raw


def _merge(base: dict, over: dict) -> dict:
    for k, v in over.items():
        base[k] = _merge(dict(base.get(k) or {}), v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return base


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Load and validate a run config, then check method and task names and hyper-parameters."""
    path = Path(path)
    if not path.exists():
        raise HarnessError("config file not found", file=path)
    if not path.is_file():
        raise HarnessError("is a folder, not a run config file (e.g. tasks/runs/quickstart.yaml)", file=path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise HarnessError(f"not UTF-8 text (byte {exc.start}): not a YAML run config", file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise HarnessError(f"invalid YAML ({getattr(exc, 'problem', exc)})", file=path,
                           row=mark.line + 1 if mark else None) from None
    if not isinstance(raw, dict):
        raise HarnessError("expected a mapping at the top level", file=path)
    raw = apply_overrides(raw, overrides or [])
    try:
        cfg = RunConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        msg = _message(err)
        raise HarnessError(msg + more, file=path, field=_loc(err["loc"])) from None
    if (cfg.model.embedded is None) == (cfg.model.path is None):
        raise HarnessError("set either model.embedded or model.path (one of them)", file=path, field="model")
    _check_methods(cfg, path)
    _check_model(cfg, path)
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


def _validation_error(exc: ValidationError, path: Path, prefix: str) -> HarnessError:
    err = exc.errors()[0]
    msg = _message(err)
    field = prefix + ("." + _loc(err["loc"]) if err["loc"] else "")
    return HarnessError(msg, file=path, field=field)


def _check_model(cfg: RunConfig, path: Path) -> None:
    """Model path, chat template and LoRA targets, in seconds and before any stage runs."""
    from harness.models.source import check_source, is_gguf, read_chat_template
    read_chat_template(cfg.model.chat_template, path)
    if cfg.model.path is not None:
        src = check_source(cfg.model.path, path)
    if cfg.judge is not None and cfg.judge.serve is not None:  # checked even when no task is judged
        check_source(cfg.judge.serve.model, path, field="judge.serve.model")
    if cfg.peft is None:
        return
    from harness.train.peft import check_peft
    if cfg.model.embedded is not None:
        from harness.models.tiny import llama_config
        model_config = llama_config(cfg.model.embedded)
    else:
        from transformers import AutoConfig
        model_config = (AutoConfig.from_pretrained(str(src.parent), gguf_file=src.name) if is_gguf(src)
                        else AutoConfig.from_pretrained(str(src)))
    check_peft(cfg.peft, model_config, path)


def _check_methods(cfg: RunConfig, path: Path) -> None:
    from harness.methods import build_method
    from harness.tuning import check_grids, grid_points

    rows = [m.row for m in cfg.methods]
    dup = {r for r in rows if rows.count(r) > 1}
    if dup:
        raise HarnessError(f"duplicate method rows {sorted(dup)}: give each a distinct label",
                           file=path, field="methods")
    for i, m in enumerate(cfg.methods):
        for point in grid_points(m):  # every grid point is a valid method and training
            try:
                build_method(point.name, point.params, where=f"methods[{i}]")
            except HarnessError as exc:
                raise HarnessError(exc.message, file=path, field=exc.field) from None
            try:
                train = cfg.train_for(point)
            except ValidationError as exc:
                raise _validation_error(exc, path, f"methods[{i}] ({m.row}).train") from None
            # checked whatever the launcher: a typo is an error now, not when the launcher changes
            from harness.train.launch import accelerate_config_path
            try:
                accelerate_config_path(train.accelerate_config)
            except HarnessError as exc:
                where = f"methods[{i}] ({m.row}).train" if "accelerate_config" in point.train else "train"
                raise HarnessError(exc.message, file=path, field=f"{where}.accelerate_config") from None
    try:
        check_grids(cfg)
    except HarnessError as exc:
        raise HarnessError(exc.message, file=path, field=exc.field) from None
