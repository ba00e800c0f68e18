"""Benchmark: the stage cache. `harness run` on a tiny config, cold (empty cache) then warm (same
config, same cache), through the real CLI in subprocesses; both wall times, their ratio, and the
manifest's `computed_this_run` lists (cold: every stage; warm: none).

Both runs pay the same fixed cost (Python start-up, imports, config and task loading, writing
the leaderboard), which bounds the ratio; the warm run's stage times are recorded to show it.

    python scripts/bench_cache.py [--backend hf] [--out results/bench/cache.json]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _bench import ROOT, machine_info, ratio, run_harness, write_result

CONFIG = """run_name: bench_cache
seed: 0
model:
  embedded: {{vocab_size: 300, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}}
data:
  synthetic: {{n_sft: 200, n_preference: 16, n_test: {n_test}, max_value: 20}}
sft: {{max_steps: {sft_steps}, batch_size: 16, learning_rate: 3.0e-3, warmup_steps: 2, max_length: 96}}
train: {{max_steps: {train_steps}, batch_size: 8, learning_rate: 5.0e-5, max_length: 96, logps_every: 2, probe_pairs: 4}}
methods: [{methods}]
tasks:
  - {{name: synthetic_arith, options: {{n_samples: {n_test}}}}}
generation: {{backend: {backend}}}
"""


def run_cli(cfg: Path, tmp: Path) -> tuple[float, dict]:
    return run_harness(cfg, tmp / "cache", tmp / "results", "bench_cache", timeout=900)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="hf", choices=["hf", "vllm", "auto"])
    ap.add_argument("--methods", default="sft, dpo, orpo")
    ap.add_argument("--sft-steps", type=int, default=10)
    ap.add_argument("--train-steps", type=int, default=4)
    ap.add_argument("--n-test", type=int, default=8)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "cache.json")
    a = ap.parse_args()

    machine = machine_info()
    config = CONFIG.format(backend=a.backend, methods=a.methods, sft_steps=a.sft_steps,
                           train_steps=a.train_steps, n_test=a.n_test)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = tmp / "bench_cache.yaml"
        cfg.write_text(config)
        cold_s, cold = run_cli(cfg, tmp)
        print(f"cold: {cold_s:.2f} s, computed {len(cold['computed_this_run'])} stages", flush=True)
        warm_s, warm = run_cli(cfg, tmp)
        print(f"warm: {warm_s:.2f} s, computed {len(warm['computed_this_run'])} stages", flush=True)
    assert warm["computed_this_run"] == [], warm["computed_this_run"]
    assert "base" in cold["computed_this_run"]
    r = ratio(cold_s, warm_s)
    result = {
        "benchmark": "harness run: cold (empty stage cache) vs warm (same config, same cache)",
        "sizes": {"config": config, "generation_backend": a.backend},
        "wall_s": {"cold": round(cold_s, 3), "warm": round(warm_s, 3), "ratio_cold_over_warm": r},
        "computed_this_run": {"cold": cold["computed_this_run"], "warm": warm["computed_this_run"]},
        "stage_wall_s": {"cold": cold["stage_wall_s"], "warm": warm["stage_wall_s"]},
        "manifest_total_wall_s": {"cold": cold["total_wall_s"], "warm": warm["total_wall_s"]},
        "note": ("wall_s is the whole subprocess (interpreter start-up and imports included); "
                 "manifest_total_wall_s is the pipeline alone"),
        "script": "scripts/bench_cache.py",
        "command": "python scripts/bench_cache.py " + " ".join(
            f"--{k.replace('_', '-')} '{v}'" for k, v in vars(a).items() if k != "out"),
    }
    print(f"cold {cold_s:.2f} s vs warm {warm_s:.2f} s -> cold/warm {r}x")
    write_result(a.out, result, machine)


if __name__ == "__main__":
    main()
