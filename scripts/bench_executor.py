"""Benchmark: the same run with the local executor and with the Ray executor (a local Ray
instance on 127.0.0.1), each from an empty cache, through the real CLI in subprocesses: wall
times, their ratio, and whether every score and checkpoint log-prob is identical.

On one small machine Ray cannot be faster by much: its gain is running independent jobs
(trainings of several methods and seeds, generation per checkpoint) in parallel, one CPU each,
against the local executor's one job at a time on every core; its costs are starting the
instance and importing torch/TRL in each new worker. The figures say which wins here.

    python scripts/bench_executor.py [--methods 'sft, dpo, asft, orpo'] [--seeds '[0, 1]']
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from _bench import ROOT, machine_info, ratio, run_harness, write_result

CONFIG = """run_name: bench_executor
seed: 0
seeds: {seeds}
model:
  embedded: {{vocab_size: 400, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}}
data:
  synthetic: {{n_sft: 300, n_preference: 48, n_test: {n_test}, max_value: 20}}
sft: {{max_steps: {sft_steps}, batch_size: 16, learning_rate: 3.0e-3, warmup_steps: 2, max_length: 96}}
train: {{max_steps: {train_steps}, batch_size: 8, learning_rate: 1.0e-4, max_length: 96, logps_every: 10, probe_pairs: 8}}
methods: [{methods}]
tasks:
  - {{name: synthetic_arith, options: {{n_samples: {n_test}}}}}
generation: {{backend: {backend}}}
"""
COMPARED = ("scores.csv", "token_logps.csv", "pair_logps.csv", "dynamics.csv")


def run_cli(cfg: Path, tmp: Path, name: str, *extra: str) -> tuple[float, dict]:
    return run_harness(cfg, tmp / f"cache-{name}", tmp / name, "bench_executor", *extra)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="hf", choices=["hf", "vllm", "auto"])
    ap.add_argument("--methods", default="sft, dpo, asft, orpo")
    ap.add_argument("--seeds", default="[0, 1]")
    ap.add_argument("--sft-steps", type=int, default=40)
    ap.add_argument("--train-steps", type=int, default=30)
    ap.add_argument("--n-test", type=int, default=12)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "executor.json")
    a = ap.parse_args()

    machine = machine_info()
    config = CONFIG.format(backend=a.backend, methods=a.methods, seeds=a.seeds, sft_steps=a.sft_steps,
                           train_steps=a.train_steps, n_test=a.n_test)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = tmp / "bench_executor.yaml"
        cfg.write_text(config)
        local_s, local = run_cli(cfg, tmp, "local")
        print(f"local: {local_s:.2f} s", flush=True)
        ray_s, on_ray = run_cli(cfg, tmp, "ray", "--executor", "ray")
        print(f"ray: {ray_s:.2f} s", flush=True)
        same = {name: bool(pd.read_csv(tmp / "local" / "bench_executor" / name).equals(
            pd.read_csv(tmp / "ray" / "bench_executor" / name))) for name in COMPARED}
    r = ratio(local_s, ray_s)
    result = {
        "benchmark": "harness run: local executor vs Ray executor (local instance, 127.0.0.1), each from an empty cache",
        "sizes": {"config": config, "generation_backend": a.backend,
                  "jobs": len(local["jobs"])},
        "wall_s": {"local": round(local_s, 3), "ray": round(ray_s, 3), "ratio_local_over_ray": r},
        "identical": same,
        "stage_wall_s": {"local": local["stage_wall_s"], "ray": on_ray["stage_wall_s"]},
        "note": ("wall_s is the whole subprocess (interpreter start-up and imports included); stage_wall_s "
                 "sums the jobs' own times per stage (on Ray they overlap, so their sum can exceed the wall)"),
        "script": "scripts/bench_executor.py",
        "command": "python scripts/bench_executor.py " + " ".join(
            f"--{k.replace('_', '-')} '{v}'" for k, v in vars(a).items() if k != "out"),
    }
    print(f"local {local_s:.2f} s vs ray {ray_s:.2f} s -> local/ray {r}x; identical: {same}")
    write_result(a.out, result, machine)
    if not all(same.values()):
        raise SystemExit("the executors disagree: " + ", ".join(k for k, v in same.items() if not v))


if __name__ == "__main__":
    main()
