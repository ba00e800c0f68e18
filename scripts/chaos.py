"""Chaos: kill `harness run` with SIGKILL at random moments, rerun to completion, compare every score
with a clean run of the same config.

The run judges MT-Bench through a loopback OpenAI-compatible judge on 127.0.0.1 (tests/loopback_judge.py)
that also fails a share of its requests in transport (500, 429 + Retry-After, hangs past the
client timeout, reset connections, truncated JSON bodies). Kills go in turn to training,
generation and scoring (where the judge is asked, often while the client is retrying): each
rerun is killed at a random 0-1.5 s after its console enters the target stage (a rerun whose
target stage is already finished is killed wherever that stage's cached pass is, or finishes).
A campaign starts from an empty cache, kills once per target stage, then reruns to the end and
compares. Figures: kills survived by stage, rows lost (in the clean run, absent after the kills),
extra and differing, per campaign and in total.

    python scripts/chaos.py [--campaigns 3] [--seed 0] [--out results/bench/chaos.json]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from _bench import ROOT, machine_info, write_result

sys.path.insert(0, str(ROOT / "tests"))
from loopback_judge import LoopbackJudge  # noqa: E402

KEY_ENV = "HARNESS_CHAOS_JUDGE_KEY"
CONFIG = """run_name: chaos
seed: 0
seeds: [0, 1]
model:
  embedded: {{vocab_size: 300, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}}
data:
  synthetic: {{n_sft: 200, n_preference: 16, n_test: 8, max_value: 20}}
sft: {{max_steps: {sft_steps}, batch_size: 16, learning_rate: 3.0e-3, warmup_steps: 2, max_length: 96}}
train: {{max_steps: {train_steps}, batch_size: 8, learning_rate: 5.0e-5, max_length: 96, logps_every: 10, probe_pairs: 4}}
methods: [sft, dpo, asft]
tasks:
  - {{name: synthetic_arith, options: {{n_samples: 8}}}}
  - {{name: mt_bench, options: {{max_new_tokens: 16, n_questions: {questions}}}}}
generation: {{backend: hf}}
judge: {{base_url: "{base_url}", model: gpt-4, api_key_env: {key_env}, timeout_s: 1.0, max_retries: 12,
         backoff_base_s: 0.01, backoff_max_s: 0.1, concurrency: 4}}
"""
SCORE_KEY = ["model", "seed", "task", "metric", "sample_id"]
STAGE_RULE = re.compile(r"─+ (\w+) ─+")
#: where the kills go, in turn: training, generation, and scoring (where the judge is asked)
TARGETS = ("train", "generate", "score")


def _cmd(cfg: Path, root: Path) -> list[str]:
    return [sys.executable, "-m", "harness.cli", "run", str(cfg), "--set", f"cache_dir={root}/cache",
            "--set", f"results_dir={root}/results"]


def _env() -> dict[str, str]:
    return {**os.environ, KEY_ENV: "chaos-key", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def run_to_end(cfg: Path, root: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(_cmd(cfg, root), cwd=ROOT, capture_output=True, text=True, env=_env(), timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"harness run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def run_and_kill(cfg: Path, root: Path, target: str, rng: random.Random) -> str | None:
    """Start a run; once its console shows stage `target`, wait a random 0-1.5 s and SIGKILL its
    process group. Returns the stage it was in when killed, or None when it finished first."""
    console = root / f"console-{time.time_ns()}.txt"
    root.mkdir(parents=True, exist_ok=True)
    with console.open("w") as sink:
        proc = subprocess.Popen(_cmd(cfg, root), cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, env=_env(),
                                start_new_session=True)
    deadline = time.time() + 1800
    while proc.poll() is None and time.time() < deadline:
        stages = STAGE_RULE.findall(console.read_text(errors="replace"))
        if stages and stages[-1] == target:
            time.sleep(rng.uniform(0.0, 1.5))
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        if proc.returncode != 0:
            raise SystemExit(f"harness run failed ({proc.returncode}): {console.read_text()[-3000:]}")
        return None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    stages = STAGE_RULE.findall(console.read_text(errors="replace"))
    return stages[-1] if stages else "start-up"


def compare(clean: Path, chaos: Path) -> dict:
    a = pd.read_csv(clean / "results" / "chaos" / "scores.csv").set_index(SCORE_KEY)
    b = pd.read_csv(chaos / "results" / "chaos" / "scores.csv").set_index(SCORE_KEY)
    shared = a.index.intersection(b.index)
    differ = (a.loc[shared, "score"].fillna(-1e9) != b.loc[shared, "score"].fillna(-1e9)) | \
             (a.loc[shared, "status"] != b.loc[shared, "status"])
    return {"rows_clean": len(a), "rows_after_kills": len(b), "rows_lost": int(len(a.index.difference(b.index))),
            "rows_extra": int(len(b.index.difference(a.index))), "rows_differing": int(differ.sum()),
            "judged_rows": int(((a.index.get_level_values("metric").str.startswith("mt_bench"))
                                & (a["status"] == "ok")).sum())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--campaigns", type=int, default=3, help="kill campaigns (one kill per target stage each)")
    ap.add_argument("--targets", default=",".join(TARGETS), help="stages to aim the kills at, in order")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fault-rate", type=float, default=0.05, help="per transport fault kind (5 kinds)")
    ap.add_argument("--sft-steps", type=int, default=60)
    ap.add_argument("--train-steps", type=int, default=40)
    ap.add_argument("--questions", type=int, default=6, help="MT-Bench questions judged")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "chaos.json")
    ap.add_argument("--work", type=Path, default=None, help="working folder (default: a temporary one)")
    args = ap.parse_args()

    machine = machine_info()
    work = args.work or Path(tempfile.mkdtemp(prefix="harness-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    judge = LoopbackJudge(seed=args.seed, hang_s=3.0).start()
    try:
        cfg = work / "chaos.yaml"
        cfg.write_text(CONFIG.format(sft_steps=args.sft_steps, train_steps=args.train_steps,
                                     questions=args.questions, base_url=judge.base_url, key_env=KEY_ENV))
        clean_s = run_to_end(cfg, work / "clean")
        judge.reset_counters()
        judge.set_faults(**{k: args.fault_rate for k in ("fail_500", "fail_429", "hang", "reset", "truncated")},
                         seed=args.seed)
        rng = random.Random(args.seed)
        kills: list[dict] = []
        campaigns = []
        for c in range(args.campaigns):  # each from an empty cache: a kill in every stage, then a full rerun
            root = work / f"chaos{c}"
            for target in args.targets.split(","):
                stage = run_and_kill(cfg, root, target, rng)
                print(f"campaign {c + 1}: " + (f"killed in {stage}" if stage else f"finished before {target}"),
                      flush=True)
                if stage is not None:
                    kills.append({"campaign": c + 1, "target": target, "stage": stage})
            final_s = run_to_end(cfg, root)
            campaigns.append({"final_rerun_wall_s": round(final_s, 1), **compare(work / "clean", root)})
    finally:
        judge.stop()
    stages: dict[str, int] = {}
    for k in kills:
        stages[k["stage"]] = stages.get(k["stage"], 0) + 1
    totals = {key: sum(c[key] for c in campaigns) for key in ("rows_lost", "rows_extra", "rows_differing")}
    result = {"kills_survived": len(kills), "kills_by_stage": stages, "kills": kills,
              "clean_wall_s": round(clean_s, 1), "rows_clean": campaigns[0]["rows_clean"],
              "judged_rows": campaigns[0]["judged_rows"], **totals, "campaigns": campaigns,
              "judge_requests": judge.requests, "judge_faults_injected": dict(judge.faults),
              "config": {k: v for k, v in vars(args).items() if k not in ("out", "work")}}
    write_result(args.out, result, machine)
    print(f"{len(kills)} kills survived ({stages}) in {len(campaigns)} campaigns; rows lost {totals['rows_lost']}, "
          f"differing {totals['rows_differing']} (of {result['rows_clean']} per campaign); "
          f"judge faults {sum(judge.faults.values())} of {judge.requests} requests")
    return 0 if totals["rows_lost"] == 0 and totals["rows_differing"] == 0 and totals["rows_extra"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
