"""Per-token log-probabilities of completions, tokenised exactly as TRL's preference trainer does.

Used by the likelihood-dynamics callback and the DPOP paper's token-level analysis (mean
log-prob of the chosen tokens after the first token where chosen and rejected differ).
"""
from __future__ import annotations

from typing import Any

import torch


def common_prefix_length(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def tokenize_pair(tokenizer, row: dict[str, Any]) -> tuple[list[int], list[int], list[int]]:
    """(prompt_ids, chosen_ids, rejected_ids) as TRL's DPOTrainer splits a conversational row."""
    prompt = tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True,
                                           return_dict=True)["input_ids"]
    pc = tokenizer.apply_chat_template(row["prompt"] + row["chosen"], tokenize=True, return_dict=True)["input_ids"]
    pr = tokenizer.apply_chat_template(row["prompt"] + row["rejected"], tokenize=True, return_dict=True)["input_ids"]
    n = min(common_prefix_length(prompt, pc), common_prefix_length(prompt, pr))
    return prompt[:n], pc[n:], pr[n:]


@torch.no_grad()
def completion_token_logps(model, pad_id: int, prompts: list[list[int]], completions: list[list[int]],
                           batch_size: int = 32) -> list[torch.Tensor]:
    """Log-prob of each completion token given the prompt and the preceding completion tokens."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out: list[torch.Tensor] = []
    for start in range(0, len(prompts), batch_size):
        seqs = [p + c for p, c in zip(prompts[start:start + batch_size], completions[start:start + batch_size])]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
        attn = torch.zeros_like(ids)
        for i, s in enumerate(seqs):
            ids[i, :len(s)] = torch.tensor(s)
            attn[i, :len(s)] = 1
        logits = model(input_ids=ids.to(device), attention_mask=attn.to(device)).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        tok = logp.gather(-1, ids[:, 1:].to(device).unsqueeze(-1)).squeeze(-1).cpu()
        for i, (p, c) in enumerate(zip(prompts[start:start + batch_size], completions[start:start + batch_size])):
            out.append(tok[i, len(p) - 1:len(p) - 1 + len(c)])
    if was_training:
        model.train()
    return out


def truncate_pair(split: tuple[list[int], list[int], list[int]], max_length: int | None):
    """As TRL's DPOTrainer truncates (`keep_start`): a pair whose prompt fills max_length is
    dropped (None); otherwise each completion is cut to what fits after the prompt."""
    prompt, chosen, rejected = split
    if max_length is None:
        return split
    if len(prompt) >= max_length:
        return None
    room = max_length - len(prompt)
    return prompt, chosen[:room], rejected[:room]


def pair_logps(model, tokenizer, rows: list[dict], batch_size: int = 32,
               max_length: int | None = None) -> list[dict[str, Any]]:
    """Summed and per-token log-probs of chosen and rejected for each row, plus the first index at
    which the chosen and rejected completions differ (token-level analysis of DPOP §3). With
    `max_length`, pairs are truncated as training truncates them, so the probes measure what the
    loss sees (and long real dialogues cost no more than a training batch)."""
    kept = [(r, truncate_pair(tokenize_pair(tokenizer, r), max_length)) for r in rows]
    kept = [(r, s) for r, s in kept if s is not None]
    split = [s for _, s in kept]
    prompts = [s[0] for s in split]
    chosen = completion_token_logps(model, tokenizer.pad_token_id, prompts, [s[1] for s in split], batch_size)
    rejected = completion_token_logps(model, tokenizer.pad_token_id, prompts, [s[2] for s in split], batch_size)
    out = []
    for (row, (p, c, r)), lc, lr in zip(kept, chosen, rejected):
        first_diff = common_prefix_length(c, r)
        out.append({"id": row.get("id"), "chosen_sum": float(lc.sum()), "rejected_sum": float(lr.sum()),
                    "chosen_tokens": lc, "first_diff": first_diff})
    return out


def _chosen_after_first_diff(record: dict[str, Any]):
    """Log-probs of the chosen tokens strictly after the first differing token."""
    return record["chosen_tokens"][record["first_diff"] + 1:]


def logp_after_first_diff(record: dict[str, Any]) -> float:
    """One pair's mean log-prob of chosen tokens after the first differing token (NaN where none
    follow)."""
    after = _chosen_after_first_diff(record)
    return float(after.mean()) if len(after) else float("nan")


def mean_logp_after_first_diff(records: list[dict[str, Any]]) -> float:
    """Mean log-prob of chosen tokens strictly after the first differing token (DPOP Fig. 4)."""
    values = [_chosen_after_first_diff(rec) for rec in records]
    values = [v for v in values if len(v)]
    if not values:
        return float("nan")
    return float(torch.cat(values).mean())
