"""Benchmark: MT-Bench judging, async (concurrency 16) vs sequential (concurrency 1).

160 single-answer judgments (80 questions x 2 turns of one published model's answers) against
the loopback OpenAI-compatible judge (tests/loopback_judge.py) answering every request after
200 ms, through the real HTTP client, retries and JSONL writing. Each mode writes to a fresh
folder, so nothing comes from the cache. Writes results/bench/judge.json.

    python scripts/bench_judge.py [--latency-ms 200] [--concurrency 16] [--out results/bench/judge.json]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from loopback_judge import LoopbackJudge  # noqa: E402

from harness.judges.config import JudgeConfig  # noqa: E402
from harness.mt_bench.fastchat_files import load_model_answers, load_questions  # noqa: E402
from harness.mt_bench.runner import judge_mt_bench  # noqa: E402
from harness.store import atomic_write_json  # noqa: E402


def run(srv: LoopbackJudge, concurrency: int, questions: list[dict], answers: dict) -> dict:
    cfg = JudgeConfig(base_url=srv.base_url, model="gpt-4", api_key_env=None,
                      concurrency=concurrency, timeout_s=30.0)
    srv.reset_counters()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        recs = judge_mt_bench(cfg, questions, answers, None, Path(tmp) / "judgment.jsonl",
                              progress=False)
        seconds = time.perf_counter() - t0
    ok = sum(r["status"] == "ok" for r in recs)
    return {"concurrency": concurrency, "seconds": round(seconds, 3), "judgments": len(recs),
            "ok": ok, "requests": srv.requests, "max_in_flight": srv.max_inflight,
            "judgments_per_s": round(len(recs) / seconds, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency-ms", type=float, default=200.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "judge.json")
    a = ap.parse_args()

    questions = load_questions()
    model = "llama-13b"
    answers = {model: load_model_answers()[model]}
    with LoopbackJudge(latency_ms=a.latency_ms) as srv:
        concurrent = run(srv, a.concurrency, questions, answers)
        print(f"async  (concurrency {a.concurrency:>2}): {concurrent['judgments']} judgments in "
              f"{concurrent['seconds']:.2f} s", flush=True)
        sequential = run(srv, 1, questions, answers)
        print(f"sequential (concurrency 1): {sequential['judgments']} judgments in "
              f"{sequential['seconds']:.2f} s", flush=True)
    assert concurrent["ok"] == sequential["ok"] == concurrent["judgments"] == 160
    ratio = sequential["seconds"] / concurrent["seconds"]
    print(f"speed-up async/sequential: {ratio:.2f}x (ideal {a.concurrency}x at "
          f"{a.latency_ms:.0f} ms per request)")
    result = {
        "benchmark": "MT-Bench judging through a loopback OpenAI-compatible server",
        "judgments": concurrent["judgments"],
        "latency_ms_per_request": a.latency_ms,
        "answers": f"{model} (FastChat published answers), 80 questions x 2 turns",
        "async": concurrent,
        "sequential": sequential,
        "speedup": round(ratio, 2),
        "ideal_speedup": a.concurrency,
        "note": ("async stays short of the ideal because each request costs a few ms of CPU in "
                 "the openai SDK and the loopback server, on a machine whose cores are shared"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine(),
                    "nproc": os.cpu_count()},
        "command": "python scripts/bench_judge.py",
        "tstamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    atomic_write_json(a.out, result)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
