"""Run one training job (the starting-checkpoint SFT, or one method) into a stage directory.

Checkpoints are written every `save_every` steps under <stage>/trainer/; a killed run resumes
from the last one. The final weights and tokenizer go to <stage>/model/.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from transformers.trainer_pt_utils import LengthGroupedSampler
from trl import DPOConfig, SFTConfig, SFTTrainer

from harness.methods.base import Method
from harness.models.load import load_model, load_tokenizer
from harness.train.adapter import MethodTrainer
from harness.train.pairs import pair_report
from harness.train.precision import resolve_precision, trained_precision, trainer_flags
from harness.train.progress import TrainingProgressCallback
from harness.train.sampler import EpochSeededLengthGroupedSampler


def _common_args(out: Path, spec, seed: int, dtype: str = "float32") -> dict:
    """TrainingArguments from a train section (harness.config.OptimSpec). Mixed precision is
    `spec.precision` resolved for this machine (harness.train.precision)."""
    gpu = torch.cuda.is_available()
    precision = resolve_precision(spec.precision, weights=dtype)
    steps = spec.max_steps if spec.max_steps is not None else -1
    log_every = max(1, (spec.max_steps or 100) // 10)
    return dict(output_dir=str(out), max_steps=steps, num_train_epochs=spec.num_epochs or 1.0,
                per_device_train_batch_size=spec.batch_size,
                gradient_accumulation_steps=spec.gradient_accumulation_steps,
                gradient_checkpointing=spec.gradient_checkpointing,
                learning_rate=spec.learning_rate, lr_scheduler_type=spec.lr_scheduler,
                warmup_steps=spec.warmup_steps or spec.warmup_ratio, optim=spec.optimizer,
                weight_decay=spec.weight_decay, adam_beta1=spec.adam_beta1, adam_beta2=spec.adam_beta2,
                max_grad_norm=spec.max_grad_norm, seed=seed, data_seed=seed, max_length=spec.max_length,
                **trainer_flags(precision),
                logging_steps=log_every, save_strategy="steps",
                save_steps=max(25, (spec.max_steps or 100) // 4), save_total_limit=1,
                report_to=list(spec.report_to),  # TensorBoard: <out>/runs/<date>_<host>/
                use_cpu=not gpu, dataloader_num_workers=0,
                disable_tqdm=True)  # harness.train.progress draws the bar; per-step logs go to the run's log


class ResumableSFTTrainer(SFTTrainer):
    """TRL's SFTTrainer whose group-by-length batches do not depend on the global RNG."""

    def _get_train_sampler(self, train_dataset=None):
        sampler = super()._get_train_sampler(train_dataset)
        if type(sampler) is LengthGroupedSampler:
            return EpochSeededLengthGroupedSampler(sampler.lengths, sampler.batch_size, self.args.data_seed)
        return sampler


def dpo_args(out: Path, spec, seed: int, *, precompute: bool, dtype: str = "float32") -> DPOConfig:
    grouped = getattr(spec, "group_by_length", False)  # a TrainSpec field; the SFT section has none
    return DPOConfig(**_common_args(out, spec, seed, dtype), precompute_ref_log_probs=precompute,
                     precompute_ref_batch_size=64,
                     train_sampling_strategy="group_by_length" if grouped else "random")


def _last_checkpoint(out: Path) -> str | None:
    """The newest complete checkpoint. transformers writes trainer_state.json last and deletes the
    previous checkpoint only after it, so a run killed while saving resumes from the one before."""
    for ckpt in sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]), reverse=True):
        try:
            json.loads((ckpt / "trainer_state.json").read_text())
        except (OSError, ValueError):
            continue
        return str(ckpt)
    return None


def _finish(trainer, start_dir: str, stage_dir: Path, tokenizer, t0: float, peft, dtype: str) -> dict:
    """Final weights to <stage>/model: saved as is, or, with LoRA, the adapter to <stage>/adapter
    and the merged weights to <stage>/model."""
    model_dir = stage_dir / "model"
    if peft is None:
        trainer.save_model(str(model_dir))  # every rank joins (ZeRO-3 / FSDP gather), rank 0 writes
    else:
        trainer.save_model(str(stage_dir / "adapter"))
    if trainer.is_world_process_zero():
        if peft is not None:
            from harness.train.peft import merge_adapter
            merge_adapter(start_dir, stage_dir / "adapter", model_dir, dtype)
        tokenizer.save_pretrained(model_dir)
    state, args = trainer.state, trainer.args
    return {"wall_s": round(time.time() - t0, 2), "steps": state.global_step,
            "tokens": int(getattr(state, "num_input_tokens_seen", 0) or 0),
            "global_batch": args.per_device_train_batch_size * args.world_size * args.gradient_accumulation_steps,
            "precision": trained_precision(args),
            "log_history": state.log_history}


def _model_and_peft(start_dir: str, peft, dtype: str):
    """The starting model in the run's dtype (4-bit for QLoRA) and TRL's `peft_config` argument."""
    from harness.train.peft import lora_config, quantization_config
    quant = quantization_config(peft)
    model = load_model(start_dir, dtype, **({"quantization_config": quant} if quant is not None else {}))
    return model, (lora_config(peft) if peft is not None else None)


def train_sft(start_dir: str, chats: list[dict], spec, stage_dir: Path, seed: int, *, peft=None,
              dtype: str = "float32") -> dict:
    """SFT of the common starting checkpoint with TRL's SFTTrainer (loss on assistant tokens)."""
    t0 = time.time()
    tokenizer = load_tokenizer(start_dir)
    model, peft_config = _model_and_peft(start_dir, peft, dtype)
    out = stage_dir / "trainer"
    # Loss on assistant tokens. TRL finds them through the template's {% generation %} markers;
    # templates without them (most pretrained models') get prompt/completion rows instead, with the
    # loss on each chat's final assistant message.
    marked = "{% generation %}" in (tokenizer.chat_template or "")
    rows = chats if marked else [{"prompt": c["messages"][:-1], "completion": c["messages"][-1:]} for c in chats]
    args = SFTConfig(**_common_args(out, spec, seed, dtype),
                     assistant_only_loss=marked, include_num_input_tokens_seen=True,
                     # mixed short (arithmetic) and long (dialogue) chats: batching by length
                     # cuts padding several-fold on CPU
                     train_sampling_strategy="group_by_length")
    trainer = ResumableSFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                         processing_class=tokenizer, peft_config=peft_config,
                         callbacks=[TrainingProgressCallback("the starting checkpoint (SFT)")])
    resume = _last_checkpoint(out)
    trainer.train(resume_from_checkpoint=resume)
    return {**_finish(trainer, start_dir, stage_dir, tokenizer, t0, peft, dtype), "resumed_from": resume}


def train_method(method: Method, start_dir: str, dataset: Dataset, spec, stage_dir: Path, seed: int,
                 probes: dict[str, Any], *, peft=None, dtype: str = "float32") -> tuple[dict, dict[str, list[dict]]]:
    """Train one method from the starting checkpoint. `dataset` already carries the shared
    reference columns when the method needs them (with LoRA they were computed by the base
    model, which is the policy with its adapters disabled). `probes`: training probe name
    (harness.analyses) -> its inputs. Returns (cost/log info, the probes' {table: rows}); the
    info's "pairs" holds the pairs trained on and dropped per source (harness.train.pairs)."""
    from harness.analyses import analysis
    t0 = time.time()
    tokenizer = load_tokenizer(start_dir)
    model, peft_config = _model_and_peft(start_dir, peft, dtype)
    out = stage_dir / "trainer"
    args = dpo_args(out, spec, seed, precompute=True, dtype=dtype)
    args.include_num_input_tokens_seen = True
    measures = [analysis(name).callback(tokenizer, spec, inputs, stage_dir) for name, inputs in probes.items()]
    trainer = MethodTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                            method=method, callbacks=[*measures, TrainingProgressCallback(method.name)],
                            peft_config=peft_config)
    resume = _last_checkpoint(out)
    trainer.train(resume_from_checkpoint=resume)
    info = _finish(trainer, start_dir, stage_dir, tokenizer, t0, peft, dtype)
    info["resumed_from"] = resume
    info["ref_forward_batches"] = trainer.ref_forward_batches
    info["pairs"] = pair_report(dataset, trainer.train_dataset, spec.max_length)  # TRL drops pairs silently
    return info, {table: rows for m in measures for table, rows in m.tables().items()}
