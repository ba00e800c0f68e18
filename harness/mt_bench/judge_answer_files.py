"""`harness mt-bench judge`: judge FastChat `model_answer` files that `harness run` did not produce,
as FastChat's gen_judgment.py does (single, pairwise-baseline, pairwise-all), with the run's client,
cache, retries and cost accounting (harness.mt_bench.runner.judge_mt_bench).

A dry run counts the requests that would be sent (judgments already in the prompt cache are free;
a prompt asked by several matches is sent once) and estimates their cost: prompt tokens as
characters / 4 (no tokenizer download offline), output tokens at most `max_tokens` per request;
without a price (`cost_per_1k_*`) the cost is unknown and says so. A cost budget is checked between questions: judging stops
cleanly once the money spent on new requests reaches it; what was judged is written, the rest is
judged by the next call (the cache makes reruns free for what is done).
"""
from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.judges.config import JudgeConfig
from harness.mt_bench.matches import build_matches, normalize_questions, references_for
from harness.mt_bench.runner import cache_path_for, judge_mt_bench
from harness.mt_bench.prompts import load_judge_prompts
from harness.store import read_jsonl

MODES = ("single", "pairwise-baseline", "pairwise-all")
CHARS_PER_TOKEN = 4


@dataclasses.dataclass
class Estimate:
    judgments: int
    requests: int          # distinct prompts not in the prompt cache
    cached: int            # games the cache already answers
    repeated: int          # games whose prompt another game of this call asks (sent once)
    prompt_tokens: int     # estimated, characters / 4
    max_cost_usd: float | None  # every request writing max_tokens; None: no price given

    def line(self) -> str:
        repeated = f", {self.repeated} repeated prompts asked once" if self.repeated else ""
        cost = ("nothing to pay" if not self.requests
                else "cost unknown (no --cost-per-1k-input/--cost-per-1k-output given)" if self.max_cost_usd is None
                else f"at most about ${self.max_cost_usd:.2f} (every reply max_tokens long)")
        return (f"{self.judgments} judgments: {self.requests} requests to send ({self.cached} already cached"
                f"{repeated}), about {self.prompt_tokens:,} prompt tokens, {cost}")


def pairings(mode: str, models: list[str], baseline: str | None) -> list[tuple[str, ...]]:
    """(model,) per model for single; (model, baseline) per model; every unordered pair for all."""
    if mode == "single":
        return [(m,) for m in models]
    if mode == "pairwise-baseline":
        if baseline is None:
            raise HarnessError("pairwise-baseline needs --baseline-model", field="baseline_model")
        return [(m, baseline) for m in models if m != baseline]
    return list(itertools.combinations(sorted(models), 2))


def _pair_config(cfg: JudgeConfig, pair: tuple[str, ...]) -> JudgeConfig:
    if len(pair) == 1:
        return cfg.model_copy(update={"mode": "single", "baseline_model": None})
    return cfg.model_copy(update={"mode": "pairwise", "baseline_model": pair[1]})


def estimate(cfg: JudgeConfig, questions: list[dict], answers: dict[str, dict], mode: str,
             baseline: str | None, out: Path) -> Estimate:
    qs = normalize_questions(questions)
    refs = references_for(qs, None)
    prompts = load_judge_prompts()
    cache = {e["key"] for e in read_jsonl(cache_path_for(out)) if "key" in e}
    judgments = requests = cached = repeated = chars = 0
    seen: set[str] = set()
    for pair in pairings(mode, list(answers), baseline):
        sub = {m: answers[m] for m in pair}
        for match in build_matches(_pair_config(cfg, pair), qs, sub, refs, prompts):
            judgments += 1
            for game in match.games:
                if game.key in cache:
                    cached += 1
                    continue
                if game.key in seen:
                    repeated += 1
                    continue
                seen.add(game.key)
                requests += 1
                chars += sum(len(m["content"]) for m in game.messages)
    tokens = chars // CHARS_PER_TOKEN
    priced = cfg.cost_per_1k_input > 0 or cfg.cost_per_1k_output > 0
    return Estimate(judgments, requests, cached, repeated, tokens,
                    cfg.cost(tokens, requests * cfg.max_tokens) if priced else None)


def judge_files(cfg: JudgeConfig, questions: list[dict], answers: dict[str, dict], mode: str,
                baseline: str | None, out: Path, max_cost: float | None = None,
                chunk: int = 8) -> dict[str, Any]:
    """Judge every pairing, `chunk` questions at a time; stop between chunks once the cost of new
    requests reaches `max_cost`. Returns counts and money spent."""
    spent = 0.0
    records: list[dict] = []
    stopped = False
    for start in range(0, len(questions), chunk):
        part = questions[start:start + chunk]
        for pair in pairings(mode, list(answers), baseline):
            if max_cost is not None and spent >= max_cost:
                stopped = True
                break
            got = judge_mt_bench(_pair_config(cfg, pair), part, {m: answers[m] for m in pair}, None, out,
                                 progress=False)
            spent += sum(r["spent_usd"] for r in got)
            records += got
        if stopped:
            break
    return {"judgments": len(records), "ok": sum(r["status"] == "ok" for r in records),
            "failed": sum(r["status"] != "ok" for r in records),
            "cached": sum(bool(r["cached"]) for r in records), "cost_usd": round(spent, 6),
            "priced": cfg.cost_per_1k_input > 0 or cfg.cost_per_1k_output > 0, "stopped_by_budget": stopped}
