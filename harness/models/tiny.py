"""The embedded model: a byte-level BPE tokenizer trained locally and a small Llama.

Nothing is downloaded. The tokenizer's pre-tokenizer isolates every digit and punctuation mark
before byte-level BPE: with merges that cross digits, a small model cannot learn arithmetic in
minutes (measured on these machines: 0/100 vs 100/100). The head dimension is 64, one of the
sizes vLLM's CPU attention supports.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from pydantic import BaseModel, ConfigDict

SPECIAL = {"bos": "<|bos|>", "eos": "<|end|>", "pad": "<|pad|>", "unk": "<|unk|>"}
ROLES = ("system", "user", "assistant")

# Each message is "<|role|>\n{content}<|end|>\n"; generation starts after "<|assistant|>\n" and
# stops at "<|end|>" (the eos token). The `generation` markers let TRL find assistant tokens.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' }}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|end|>' }}{% endgeneration %}"
    "{% else %}{{ message['content'] + '<|end|>' }}{% endif %}"
    "{{ '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


class TinyModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vocab_size: int = 2048
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 688
    max_position_embeddings: int = 512
    seed: int = 0


def train_tokenizer(texts: Iterable[str], vocab_size: int, out_dir: Path):
    """Train the tokenizer and save it as a transformers fast tokenizer with the chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=SPECIAL["unk"]))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Punctuation(),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    tok.decoder = decoders.ByteLevel()
    role_tokens = [f"<|{r}|>" for r in ROLES]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL.values()) + role_tokens,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=SPECIAL["bos"], eos_token=SPECIAL["eos"],
                                   pad_token=SPECIAL["pad"], unk_token=SPECIAL["unk"],
                                   additional_special_tokens=role_tokens, model_max_length=8192)
    fast.chat_template = CHAT_TEMPLATE
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(out_dir)
    return fast


def llama_config(cfg: TinyModelConfig, tokenizer=None):
    """The embedded model's LlamaConfig (the vocabulary is the tokenizer's, once trained)."""
    from transformers import LlamaConfig

    special = {} if tokenizer is None else dict(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id)
    return LlamaConfig(vocab_size=len(tokenizer) if tokenizer is not None else cfg.vocab_size,
                       hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
                       num_hidden_layers=cfg.num_layers, num_attention_heads=cfg.num_heads,
                       num_key_value_heads=cfg.num_heads, head_dim=cfg.hidden_size // cfg.num_heads,
                       max_position_embeddings=cfg.max_position_embeddings, tie_word_embeddings=True,
                       torch_dtype="float32", **special)


def build_model(cfg: TinyModelConfig, tokenizer, out_dir: Path):
    """A randomly initialised Llama sized by `cfg`, saved with its generation config."""
    import torch
    from transformers import GenerationConfig, LlamaForCausalLM

    torch.manual_seed(cfg.seed)
    model = LlamaForCausalLM(llama_config(cfg, tokenizer))
    model.generation_config = GenerationConfig(bos_token_id=tokenizer.bos_token_id,
                                               eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return model
