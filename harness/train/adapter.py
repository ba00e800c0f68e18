"""The thin adapter over TRL: one DPOTrainer subclass whose loss is the Method's.

TRL does tokenisation, collation, the optimiser, accelerate/DeepSpeed, checkpoints and logging.
We override two things only:
  - `compute_loss`: per-sequence log-probs from TRL's fused LM head, then `method.loss`;
  - `_precompute_ref_logps`: return the dataset unchanged when the method needs no reference or
    when our shared reference cache (harness.train.reference) already supplied the
    `ref_chosen_logps` / `ref_rejected_logps` columns, so TRL neither loads a reference model nor
    recomputes them. (A private method: pinned to trl==1.16 and covered by tests.)
Without precomputed columns (`precompute_ref_log_probs=False`) the reference forward runs every
step, TRL's default; `scripts/bench_ref_cache.py` compares the two.
"""
from __future__ import annotations

import torch
from trl import DPOTrainer

from harness.methods.base import Method
from harness.train.sampler import EpochSeededLengthGroupedSampler, preference_lengths

_NON_MODEL_KEYS = {"completion_mask", "ref_chosen_logps", "ref_rejected_logps"}


class MethodTrainer(DPOTrainer):
    def __init__(self, *args, method: Method, **kwargs) -> None:
        self.method = method
        self.ref_forward_batches = 0
        super().__init__(*args, **kwargs)

    def _get_train_sampler(self, train_dataset=None):
        """transformers groups by an `input_ids` column, which a preference data set lacks: group
        pairs by their longer sequence instead (train.group_by_length)."""
        if self.args.train_sampling_strategy != "group_by_length":
            return super()._get_train_sampler(train_dataset)
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        return EpochSeededLengthGroupedSampler(preference_lengths(dataset),
                                               self.args.train_batch_size * self.args.gradient_accumulation_steps,
                                               self.args.data_seed)

    def _precompute_ref_logps(self, dataset, name, batch_size):
        if not self.method.needs_reference or "ref_chosen_logps" in dataset.column_names:
            return dataset
        return super()._precompute_ref_logps(dataset, name, batch_size)

    def compute_ref_log_probs(self, model, inputs):
        self.ref_forward_batches += 1
        return super().compute_ref_log_probs(model, inputs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        mode = "train" if self.model.training else "eval"
        model_kwargs = {k: v for k, v in inputs.items() if k not in _NON_MODEL_KEYS}
        completion_mask = inputs["completion_mask"]
        labels = inputs["input_ids"].masked_fill(completion_mask == 0, -100)
        outputs = model(**model_kwargs, use_cache=False, labels=labels, fused_lm_head=True)
        mask = completion_mask[..., 1:].to(outputs.log_probs.dtype)
        token_logps = outputs.log_probs[:, -mask.size(1):] * mask
        sums, lengths = token_logps.sum(dim=1), mask.sum(dim=1).clamp(min=1.0)
        chosen_sum, rejected_sum = sums.chunk(2)
        chosen_len, rejected_len = lengths.chunk(2)

        ref_chosen = ref_rejected = None
        if self.method.needs_reference:
            if "ref_chosen_logps" in inputs:
                ref_chosen, ref_rejected = inputs["ref_chosen_logps"], inputs["ref_rejected_logps"]
            else:
                # with LoRA there is no reference model: TRL disables the policy's adapters instead
                ref = self.ref_model if self.ref_model is not None else model
                ref_chosen, ref_rejected = self.compute_ref_log_probs(ref, inputs)
            ref_chosen, ref_rejected = ref_chosen.to(sums.device), ref_rejected.to(sums.device)

        policy_chosen, policy_rejected = chosen_sum, rejected_sum
        if self.method.length_normalized:
            policy_chosen, policy_rejected = chosen_sum / chosen_len, rejected_sum / rejected_len
            if ref_chosen is not None:
                ref_chosen, ref_rejected = ref_chosen / chosen_len, ref_rejected / rejected_len

        losses, metrics = self.method.loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected,
                                           chosen_nll=-chosen_sum / chosen_len,
                                           chosen_len=chosen_len, rejected_len=rejected_len)
        loss = losses.mean()
        gather = self.accelerator.gather
        record = self._metrics[mode]
        record["logps/chosen"].append(gather(chosen_sum.detach()).mean().item())
        record["logps/rejected"].append(gather(rejected_sum.detach()).mean().item())
        for name, value in metrics.items():
            record[name].append(gather(torch.as_tensor(value).detach().reshape(1)).mean().item())
        if return_outputs:
            return loss, outputs
        return loss
