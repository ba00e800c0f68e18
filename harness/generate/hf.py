"""transformers `generate`: the fallback backend (and the baseline in scripts/bench_generate.py)."""
from __future__ import annotations

import torch

from harness.generate.base import context_length, encode_prompts
from harness.models.load import load_model, load_tokenizer
from harness.types import GenerateParams, Message


class HFGenerator:
    name = "hf"

    def __init__(self, model_dir: str, *, seed: int = 0, batch_size: int = 64, dtype: str = "float32") -> None:
        self.dtype = dtype
        self.tokenizer = load_tokenizer(model_dir)
        self.tokenizer.padding_side = "left"
        self.model = load_model(model_dir, dtype)
        self.model.eval()
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model.to(self.device)
        self.seed = seed
        self.max_model_len = context_length(model_dir)
        self.batch_size = batch_size

    def switch(self, model_dir: str) -> None:
        self.model = load_model(model_dir, self.dtype).to(self.device).eval()

    @torch.no_grad()
    def generate(self, conversations: list[list[Message]], params: list[GenerateParams]) -> list[str]:
        out: list[str] = [""] * len(conversations)
        # Batch only conversations that share generation parameters.
        groups: dict[GenerateParams, list[int]] = {}
        for i, p in enumerate(params):
            groups.setdefault(p, []).append(i)
        for p, idx in groups.items():
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start:start + self.batch_size]
                ids = encode_prompts(self.tokenizer, [conversations[i] for i in chunk], [p] * len(chunk),
                                     self.max_model_len)
                enc = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(self.device)
                torch.manual_seed(p.seed)
                kwargs = dict(max_new_tokens=p.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id,
                              eos_token_id=self.tokenizer.eos_token_id)
                if p.temperature > 0:
                    kwargs.update(do_sample=True, temperature=p.temperature, top_p=p.top_p)
                else:
                    kwargs.update(do_sample=False)
                gen = self.model.generate(**enc, **kwargs)
                for i, row in zip(chunk, gen[:, enc["input_ids"].shape[1]:]):
                    text = self.tokenizer.decode(row, skip_special_tokens=True)
                    for s in p.stop:
                        text = text.split(s)[0]
                    out[i] = text.strip()
        return out

    def close(self) -> None:
        del self.model
