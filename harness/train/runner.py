"""Run one training job (the starting-checkpoint SFT, or one method) into a stage directory.

Checkpoints are written every `save_every` steps under <stage>/trainer/; a killed run resumes
from the last one. The final weights and tokenizer go to <stage>/model/.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, SFTConfig, SFTTrainer

from harness.methods.base import Method
from harness.train.adapter import MethodTrainer
from harness.train.dynamics import LogpDynamicsCallback


def _common_args(out: Path, *, steps: int, batch: int, lr: float, warmup: int, seed: int,
                 max_length: int) -> dict:
    return dict(output_dir=str(out), max_steps=steps, per_device_train_batch_size=batch,
                learning_rate=lr, warmup_steps=warmup, lr_scheduler_type="linear", seed=seed,
                data_seed=seed, max_length=max_length, bf16=torch.cuda.is_available(),
                logging_steps=max(1, steps // 10), save_strategy="steps",
                save_steps=max(25, steps // 4), save_total_limit=1, report_to=[],
                use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0)


def dpo_args(out: Path, spec, seed: int, *, precompute: bool) -> DPOConfig:
    return DPOConfig(**_common_args(out, steps=spec.max_steps, batch=spec.batch_size,
                                    lr=spec.learning_rate, warmup=spec.warmup_steps, seed=seed,
                                    max_length=spec.max_length),
                     precompute_ref_log_probs=precompute, precompute_ref_batch_size=64)


def _last_checkpoint(out: Path) -> str | None:
    ckpts = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    return str(ckpts[-1]) if ckpts else None


def _finish(trainer, model_dir: Path, tokenizer, t0: float) -> dict:
    trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(model_dir)
    state = trainer.state
    return {"wall_s": round(time.time() - t0, 2), "steps": state.global_step,
            "tokens": int(getattr(state, "num_input_tokens_seen", 0) or 0),
            "log_history": state.log_history}


def train_sft(start_dir: str, chats: list[dict], spec, stage_dir: Path, seed: int) -> dict:
    """SFT of the common starting checkpoint with TRL's SFTTrainer (loss on assistant tokens)."""
    t0 = time.time()
    tokenizer = AutoTokenizer.from_pretrained(start_dir)
    model = AutoModelForCausalLM.from_pretrained(start_dir)
    out = stage_dir / "trainer"
    args = SFTConfig(**_common_args(out, steps=spec.max_steps, batch=spec.batch_size, lr=spec.learning_rate,
                                    warmup=spec.warmup_steps, seed=seed, max_length=spec.max_length),
                     assistant_only_loss=True, include_num_input_tokens_seen=True,
                     # mixed short (arithmetic) and long (dialogue) chats: batching by length
                     # cuts padding several-fold on CPU
                     train_sampling_strategy="group_by_length")
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(chats),
                         processing_class=tokenizer)
    trainer.train(resume_from_checkpoint=_last_checkpoint(out))
    return _finish(trainer, stage_dir / "model", tokenizer, t0)


def train_method(method: Method, start_dir: str, dataset: Dataset, spec, stage_dir: Path, seed: int,
                 probes: dict[str, list[dict]]) -> tuple[dict, list[dict]]:
    """Train one method from the starting checkpoint. `dataset` already carries the shared
    reference columns when the method needs them. Returns (cost/log info, dynamics rows)."""
    t0 = time.time()
    tokenizer = AutoTokenizer.from_pretrained(start_dir)
    model = AutoModelForCausalLM.from_pretrained(start_dir)
    out = stage_dir / "trainer"
    args = dpo_args(out, spec, seed, precompute=True)
    args.include_num_input_tokens_seen = True
    dynamics = LogpDynamicsCallback(tokenizer, probes, spec.logps_every, stage_dir / "dynamics.jsonl")
    trainer = MethodTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                            method=method, callbacks=[dynamics])
    resume = _last_checkpoint(out)
    trainer.train(resume_from_checkpoint=resume)
    info = _finish(trainer, stage_dir / "model", tokenizer, t0)
    info["resumed_from"] = resume
    info["ref_forward_batches"] = trainer.ref_forward_batches
    return info, dynamics.rows
