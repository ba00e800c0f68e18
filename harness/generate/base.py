"""The Generator seam, and multi-turn generation on top of it.

A backend answers a batch of conversations; `answer_samples` drives the turns, so MT-Bench's
turn 2 sees the model's own turn-1 answer, whatever the backend.
"""
from __future__ import annotations

import logging
from typing import Callable, Protocol

from harness.errors import HarnessError
from harness.registry import Registry, load_object
from harness.types import GenerateParams, Message, Sample

log = logging.getLogger("harness.generate")

#: Generation backends: one file in harness/generate/ plus one line here, "module:class" (imported
#: only when chosen). A backend class takes (model_dir, *, seed, batch_size, dtype).
BACKENDS: Registry[str] = Registry("generation backend")
BACKENDS.add("vllm", "harness.generate.vllm:VLLMGenerator")
BACKENDS.add("hf", "harness.generate.hf:HFGenerator")
AUTO_ORDER = ("vllm", "hf")  # what generation.backend "auto" tries, in order


class Generator(Protocol):
    name: str

    def generate(self, conversations: list[list[Message]], params: list[GenerateParams]) -> list[str]:
        """One answer per conversation (the assistant's next message)."""
        ...

    def switch(self, model_dir: str) -> None:
        """Serve another checkpoint of the run."""
        ...

    def close(self) -> None:
        ...


def encode_prompts(tokenizer, conversations: list[list[Message]], params: list[GenerateParams],
                   max_model_len: int) -> list[list[int]]:
    """Chat-template token ids, truncated from the left so prompt + answer fit the context.

    Long multi-turn dialogues (HH-RLHF) otherwise overflow a small model's context; keeping the
    end keeps the question being answered."""
    out = []
    for conv, p in zip(conversations, params):
        ids = tokenizer.apply_chat_template(conv, add_generation_prompt=True, tokenize=True,
                                            return_dict=True)["input_ids"]
        budget = max(1, max_model_len - p.max_new_tokens)
        out.append(list(ids[-budget:]))
    return out


def context_length(model_dir: str, cap: int = 4096) -> int:
    from transformers import AutoConfig
    return min(int(getattr(AutoConfig.from_pretrained(model_dir), "max_position_embeddings", cap)), cap)


def answer_samples(gen: Generator, samples: list[Sample], params_for: Callable[[Sample], GenerateParams],
                   on_turn: Callable[[int, int], None] | None = None) -> list[list[str]]:
    """Answers to every turn of every sample, turn by turn across the whole batch."""
    answers: list[list[str]] = [[] for _ in samples]
    n_turns = max((len(s.turns) for s in samples), default=0)
    for t in range(n_turns):
        idx = [i for i, s in enumerate(samples) if len(s.turns) > t]
        convs = []
        for i in idx:
            conv: list[Message] = list(samples[i].history)
            for k in range(t):
                conv += [{"role": "user", "content": samples[i].turns[k]},
                         {"role": "assistant", "content": answers[i][k]}]
            conv.append({"role": "user", "content": samples[i].turns[t]})
            convs.append(conv)
        outs = gen.generate(convs, [params_for(samples[i]) for i in idx])
        for i, out in zip(idx, outs):
            answers[i].append(out)
        if on_turn:
            on_turn(t, len(idx))
    return answers


def make_generator(backend: str, model_dir: str, *, seed: int = 0, batch_size: int = 64,
                   dtype: str = "float32", options: dict[str, dict] | None = None) -> Generator:
    """Build a backend. "auto" tries AUTO_ORDER (vLLM, then transformers generate) and says, with a
    warning, why it fell back; a named backend that cannot start is an error. `options` holds
    each backend's own engine settings by backend name (generation.vllm)."""
    names = AUTO_ORDER if backend == "auto" else (backend,)
    for name in names:
        spec = BACKENDS.get(name, field="generation.backend")
        try:
            return load_object(spec)(model_dir, seed=seed, batch_size=batch_size, dtype=dtype,
                                     **(options or {}).get(name, {}))
        except Exception as exc:  # noqa: BLE001 - any start-up failure (vLLM missing, model unsupported)
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            if backend != "auto" or name == names[-1]:
                hint = (" Install it with `pip install -e .[cpu]` (CPU) or `.[gpu]` (CUDA), or set "
                        "generation.backend: hf" if name == "vllm" else "")
                raise HarnessError(f"generation backend {name} could not load {model_dir}: {reason}.{hint}") from None
            log.warning("%s unavailable (%s); falling back to the next backend", name, reason)
    raise AssertionError("unreachable")
