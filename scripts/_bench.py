"""Helpers shared by the scripts/bench_*.py benchmarks: machine info, a timer, JSON output, and a
small embedded model built with the project's own tokenizer/model/SFT code.

Every benchmark measures both alternatives in the same process run, on the same machine, so the
ratio it prints is meaningful even where the absolute figures drift with machine load (the load
average at start and end is recorded for that reason).
"""
from __future__ import annotations

import datetime as _dt
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict:
    """harness.manifest's hardware and package facts, plus date, load average, CPU affinity and
    torch threads (what makes a timing on a shared machine interpretable)."""
    from harness.manifest import hardware, package_versions
    info: dict = {**hardware(), "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  "load_average_1_5_15_min_at_start": load_average(), "packages": package_versions()}
    try:
        info["cpu_affinity"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        import torch
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


@contextmanager
def timer(out: dict, key: str):
    """`with timer(d, "x_s"): ...` stores the elapsed seconds (3 decimals) in d["x_s"]."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        out[key] = round(time.perf_counter() - t0, 3)


@contextmanager
def wall_and_cpu(out: dict, key: str):
    """Like `timer`, and also stores this process's CPU seconds (all threads) in d[key + "_cpu_s"]:
    on a machine shared with other jobs, CPU time moves far less than wall time."""
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        out[f"{key}_s"] = round(time.perf_counter() - t0, 3)
        out[f"{key}_cpu_s"] = round(time.process_time() - c0, 3)


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def write_result(path: Path, result: dict, machine: dict) -> None:
    machine = dict(machine)
    machine["load_average_1_5_15_min_at_end"] = load_average()
    from harness.store import atomic_write_json
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, {**result, "machine": machine})
    print(f"wrote {path}", flush=True)


def build_tiny_model(root: Path, *, hidden: int, layers: int, heads: int, intermediate: int,
                     vocab: int, sft_steps: int, n_sft: int = 400, seed: int = 0,
                     max_value: int = 20) -> tuple[Path, Path, float]:
    """Tokenizer + embedded Llama (harness.models.tiny) briefly SFT-ed with harness.train.runner,
    as tests/conftest.py does. Returns (init dir, SFT-ed model dir, seconds)."""
    from harness.config import SFTSpec
    from harness.data import synthetic
    from harness.models.tiny import TinyModelConfig, build_model, train_tokenizer
    from harness.train.runner import train_sft

    t0 = time.perf_counter()
    splits = synthetic.build(seed=seed, n_sft=n_sft, n_preference=50, n_test=10, max_value=max_value)
    texts = [m["content"] for r in splits.sft for m in r["messages"]]
    texts += [m["content"] for r in splits.preference for m in r["chosen"] + r["rejected"]]
    tok = train_tokenizer(texts, vocab, root / "tok")
    build_model(TinyModelConfig(vocab_size=vocab, hidden_size=hidden, num_layers=layers, num_heads=heads,
                                intermediate_size=intermediate, seed=seed), tok, root / "init")
    train_sft(str(root / "init"), [{"messages": r["messages"]} for r in splits.sft],
              SFTSpec(max_steps=sft_steps, batch_size=16, learning_rate=3e-3, warmup_steps=2, max_length=96),
              root / "sft", seed=seed)
    return root / "init", root / "sft" / "model", time.perf_counter() - t0


def n_params(model_dir: Path) -> int:
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    return sum(p.numel() for p in model.parameters())


def real_model(root: Path, spec: str) -> tuple[Path, float]:
    """A real model given as `model.path` is (GGUF file, HF folder or `pkg:<package>/<file>`), as
    the HF checkpoint the pipeline's source stage makes of it. Returns (model dir, seconds)."""
    from harness.models.source import check_source, is_gguf, prepare_source

    t0 = time.perf_counter()
    path = check_source(spec)
    if not is_gguf(path):
        return path, time.perf_counter() - t0
    prepare_source(path, root / "source", None)
    return root / "source", time.perf_counter() - t0


def hh_rlhf_pairs(n: int, offset: int = 500) -> list[dict]:
    """Real HH-RLHF helpful-base preference rows (past the rows hh_rlhf_gen evaluates on)."""
    from harness.data.hh_rlhf import load_hh_rlhf
    rows, _ = load_hh_rlhf(ROOT / "tasks/data/hh_rlhf/helpful-base-test.jsonl.gz", skip_bad_rows=True,
                           offset=offset, limit=n)
    return [{k: r[k] for k in ("id", "prompt", "chosen", "rejected")} for r in rows]


def make_adapter(model_dir: Path, root: Path, rank: int, seed: int) -> tuple[Path, Path]:
    """A LoRA adapter with random non-zero weights, saved, and the model with it merged, saved."""
    import torch
    from peft import LoraConfig, get_peft_model

    from harness.models.load import load_model, load_tokenizer

    torch.manual_seed(seed)
    model = get_peft_model(load_model(model_dir), LoraConfig(r=rank, lora_alpha=2 * rank, target_modules="all-linear",
                                                             init_lora_weights=False, task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.mul_(0.05)  # a trained adapter's scale: changes the answers without wrecking them
    model.save_pretrained(root / "adapter")
    model.merge_and_unload().save_pretrained(root / "merged")
    load_tokenizer(model_dir).save_pretrained(root / "merged")
    return root / "adapter", root / "merged"


def mt_bench_prompts(n: int) -> list[list[dict]]:
    """The first n MT-Bench first-turn questions as one-message conversations."""
    from harness.mt_bench.fastchat_files import load_samples
    return [[{"role": "user", "content": s.turns[0]}] for s in load_samples()][:n]


def run_harness(cfg: Path, cache: Path, results: Path, run_name: str, *extra: str,
                timeout: int = 3600) -> tuple[float, dict]:
    """`harness run` through the real CLI in a subprocess: (wall seconds, the run's manifest)."""
    import json
    import subprocess
    import sys
    import time
    cmd = [sys.executable, "-m", "harness.cli", "run", str(cfg), "--set", f"cache_dir={cache}",
           "--set", f"results_dir={results}", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"harness run failed ({proc.returncode}): {' '.join(cmd)}")
    return seconds, json.loads((results / run_name / "manifest.json").read_text())

