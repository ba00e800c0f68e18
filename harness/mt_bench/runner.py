"""MT-Bench judging with FastChat's protocol (gen_judgment.py, ``play_a_match_single`` /
``play_a_match_pair``) on a current async OpenAI client. File formats: harness.mt_bench.fastchat_files;
matches: harness.mt_bench.matches; per-sample scores: harness.mt_bench.scores.

Judging (``judge_mt_bench``):

* single mode: every (model, question) gets a turn-1 judgment and, for two-turn questions, a
  turn-2 judgment with the multi-turn prompt (FastChat's ``MatchSingle(multi_turn=...)``);
* pairwise mode: every model but the baseline is compared with ``cfg.baseline_model`` per
  question and turn, in two games with the answers swapped (``play_a_match_pair``);
* each finished judgment is appended at once (fsynced) to ``out_path`` in FastChat's
  ``model_judgment`` format, plus our fields ``status`` ("ok"/"error"), ``reason``, ``usage``,
  ``latency_s``, ``cost_usd`` (of the replies it uses, paid now or before), ``cached`` (no request
  sent for it by this call) and ``spent_usd`` (what this call paid for it);
* every successful, parsable judge reply is stored in a cache next to the judgments
  (``<out>.cache.jsonl``) under sha256(judge model + messages): a rerun, or a run resumed after a
  crash, never asks an answered prompt again, and only failed judgments are asked again;
* at the end the judgment file is rewritten (atomically) with one record per judgment, the last.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from harness.errors import HarnessError
from harness.judges.client import JudgeCall, JudgeClient
from harness.judges.config import JudgeConfig
from harness.mt_bench.fastchat_files import (MODEL_ANSWER_DIR, as_question_id, dedupe, load_model_answers, model_name,
                                 record_key)
from harness.mt_bench.matches import Game, Match, build_matches, normalize_questions, references_for
from harness.mt_bench.parse import parse_pair, parse_rating
from harness.mt_bench.prompts import load_judge_prompts
from harness.store import JsonlAppender, atomic_write_text, read_jsonl
from harness.types import Sample

log = logging.getLogger("harness.judge")

API_ERROR_OUTPUT = "$ERROR$"  # FastChat's judgment text when the API call failed

AnswersByModel = Mapping[str, Mapping[Any, Sequence[str]]]


def cache_path_for(out_path: str | Path) -> Path:
    """The judge-reply cache beside a judgment file: ``<out>.cache.jsonl``."""
    p = Path(out_path)
    stem = p.name[:-len(".jsonl")] if p.name.endswith(".jsonl") else p.name
    return p.with_name(stem + ".cache.jsonl")


@dataclasses.dataclass
class _Outcome:
    text: str | None
    parsed: Any
    reason: str
    usage: dict[str, int]
    latency_s: float
    cost_usd: float
    cached: bool           # no request was sent for it in this call
    spent_usd: float = 0.0  # money this call spent on it (0 when cached or asked by another match)


class _Runner:
    def __init__(self, cfg: JudgeConfig, client: JudgeClient, cache: dict[str, dict],
                 cache_out: JsonlAppender) -> None:
        self.cfg = cfg
        self.client = client
        self.cache = cache
        self.cache_out = cache_out
        self.inflight: dict[str, asyncio.Future] = {}

    async def play(self, game: Game, parse: Callable[[str], tuple[Any, str]]) -> _Outcome:
        hit = self.cache.get(game.key)
        if hit is not None:
            parsed, reason = parse(hit["judgment"])
            return _Outcome(hit["judgment"], parsed, reason, hit.get("usage", {}),
                            hit.get("latency_s", 0.0), hit.get("cost_usd", 0.0), True)
        if game.key in self.inflight:  # the same prompt asked by another match right now: paid once, there
            out = await asyncio.shield(self.inflight[game.key])
            return dataclasses.replace(out, cached=True, spent_usd=0.0)
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self.inflight[game.key] = fut
        try:
            out = await self._ask(game, parse)
            fut.set_result(out)
            return out
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved
            raise
        finally:
            self.inflight.pop(game.key, None)

    async def _ask(self, game: Game, parse: Callable[[str], tuple[Any, str]]) -> _Outcome:
        call: JudgeCall = await self.client.complete(game.messages)
        if not call.ok:
            parsed, _ = parse(API_ERROR_OUTPUT)
            return _Outcome(None, parsed, call.reason, call.usage, call.latency_s,
                            call.cost_usd, False, call.cost_usd)
        parsed, reason = parse(call.text or "")
        if not reason:  # only parsable answers are cached: a failed one is asked again next run
            entry = {"key": game.key, "judge_model": self.cfg.model, "judgment": call.text,
                     "usage": call.usage, "latency_s": round(call.latency_s, 4),
                     "cost_usd": call.cost_usd, "tstamp": time.time()}
            self.cache[game.key] = entry
            self.cache_out.write(entry)
        return _Outcome(call.text, parsed, reason, call.usage, call.latency_s, call.cost_usd,
                        False, call.cost_usd)


def _sum_usage(outs: list[_Outcome]) -> dict[str, int]:
    return {k: sum(int(o.usage.get(k, 0)) for o in outs)
            for k in ("prompt_tokens", "completion_tokens")}


async def _judge_match(runner: _Runner, m: Match) -> dict:
    now = time.time()
    judge = m.judge
    if len(m.models) == 1:
        rec: dict[str, Any] = {"question_id": m.qid, "model": m.models[0], "judge": judge}
        if m.error:
            rec.update(user_prompt="", judgment="", score=-1, turn=m.turn, tstamp=now,
                       status="error", reason=m.error, usage=_sum_usage([]), latency_s=0.0,
                       cost_usd=0.0, cached=False, spent_usd=0.0)
            return rec
        g = m.games[0]
        o = await runner.play(g, parse_rating)
        rec.update(user_prompt=g.user_prompt,
                   judgment=o.text if o.text is not None else API_ERROR_OUTPUT,
                   score=o.parsed, turn=m.turn, tstamp=time.time(),
                   status="ok" if not o.reason else "error", reason=o.reason, usage=o.usage,
                   latency_s=round(o.latency_s, 4), cost_usd=o.cost_usd, cached=o.cached,
                   spent_usd=o.spent_usd)
        return rec

    model_1, model_2 = m.models
    rec = {"question_id": m.qid, "model_1": model_1, "model_2": model_2}
    if m.error:
        rec.update(g1_winner="error", g2_winner="error", judge=judge, g1_user_prompt="",
                   g1_judgment="", g2_user_prompt="", g2_judgment="", turn=m.turn, tstamp=now,
                   status="error", reason=m.error, usage=_sum_usage([]), latency_s=0.0,
                   cost_usd=0.0, cached=False, spent_usd=0.0)
        return rec
    fmt = m.prompt["output_format"]
    o1, o2 = await asyncio.gather(*(runner.play(g, lambda t: parse_pair(t, fmt)) for g in m.games))
    g1_map = {"A": "model_1", "B": "model_2"}
    g2_map = {"A": "model_2", "B": "model_1"}
    reasons = [f"g{i}: {o.reason}" for i, o in ((1, o1), (2, o2)) if o.reason]
    rec.update(g1_winner=g1_map.get(o1.parsed, o1.parsed), g2_winner=g2_map.get(o2.parsed, o2.parsed),
               judge=judge,
               g1_user_prompt=m.games[0].user_prompt,
               g1_judgment=o1.text if o1.text is not None else API_ERROR_OUTPUT,
               g2_user_prompt=m.games[1].user_prompt,
               g2_judgment=o2.text if o2.text is not None else API_ERROR_OUTPUT,
               turn=m.turn, tstamp=time.time(), status="error" if reasons else "ok",
               reason="; ".join(reasons), usage=_sum_usage([o1, o2]),
               latency_s=round(o1.latency_s + o2.latency_s, 4),
               cost_usd=o1.cost_usd + o2.cost_usd, cached=o1.cached and o2.cached,
               spent_usd=o1.spent_usd + o2.spent_usd)
    return rec


_CONTENT_FIELDS = ("status", "score", "judgment", "user_prompt", "g1_winner", "g2_winner",
                   "g1_judgment", "g2_judgment", "g1_user_prompt", "g2_user_prompt")


def _same(a: dict | None, b: dict) -> bool:
    return a is not None and all(a.get(k) == b.get(k) for k in _CONTENT_FIELDS)


async def ajudge_mt_bench(cfg: JudgeConfig, questions: Iterable[dict | Sample],
                          answers_by_model: AnswersByModel,
                          references: Mapping[Any, Sequence[str]] | None,
                          out_path: str | Path, progress: bool = True,
                          judge_prompts: str | Path | None = None,
                          cache_path: str | Path | None = None) -> list[dict]:
    """Async form of `judge_mt_bench`."""
    out = Path(out_path)
    qs = normalize_questions(questions)
    answers = {m: {as_question_id(k): list(v) for k, v in a.items()} for m, a in answers_by_model.items()}
    if cfg.mode == "pairwise":
        base = cfg.baseline_model
        assert base is not None
        if base not in answers:
            shipped = {model_name(p) for p in MODEL_ANSWER_DIR.glob("*.jsonl*")}
            if base not in shipped:
                raise HarnessError(f"no answers for baseline model {base!r} (pass them in "
                                   f"answers_by_model; shipped: {', '.join(sorted(shipped))})",
                                   field="judge.baseline_model")
            answers[base] = load_model_answers(MODEL_ANSWER_DIR)[base]
    refs = references_for(qs, references)
    matches = build_matches(cfg, qs, answers, refs, load_judge_prompts(judge_prompts))

    cache_file = Path(cache_path) if cache_path else cache_path_for(out)
    cache = {e["key"]: e for e in read_jsonl(cache_file) if "key" in e and "judgment" in e}
    existing = {record_key(r): r for r in read_jsonl(out)}

    results: list[dict | None] = [None] * len(matches)
    counts = {"ok": 0, "error": 0, "cached": 0}
    client = JudgeClient(cfg)
    try:
        with JsonlAppender(out) as rec_out, JsonlAppender(cache_file) as cache_out:
            runner = _Runner(cfg, client, cache, cache_out)
            bar = _progress(progress, len(matches), cfg)

            async def one(i: int, m: Match) -> None:
                rec = await _judge_match(runner, m)
                if not _same(existing.get(m.record_key()), rec):  # else written by an earlier call
                    rec_out.write(rec)
                results[i] = rec
                counts["ok" if rec["status"] == "ok" else "error"] += 1
                counts["cached"] += bool(rec.get("cached"))
                if bar is not None:
                    bar.update(bar.task_ids[0], advance=1,
                               description=f"MT-Bench judge ({counts['error']} failed)")

            try:
                await asyncio.gather(*(one(i, m) for i, m in enumerate(matches)))
            finally:
                if bar is not None:
                    bar.stop()
    finally:
        await client.aclose()

    # One record per judgment in the file (FastChat's show_result does not deduplicate).
    all_records = read_jsonl(out)
    deduped = dedupe(all_records)
    if len(deduped) != len(all_records):
        atomic_write_text(out, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n"
                                       for r in deduped))
    log.info("MT-Bench judging: %d ok, %d failed, %d from cache, %d HTTP requests",
             counts["ok"], counts["error"], counts["cached"], client.requests)
    return [r for r in results if r is not None]


def _progress(enabled: bool, total: int, cfg: JudgeConfig):
    if not enabled:
        return None
    from harness.console import progress_bars
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    bar = progress_bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TimeRemainingColumn())
    bar.add_task(f"MT-Bench judge ({cfg.model})", total=total)
    bar.start()
    return bar


def judge_mt_bench(cfg: JudgeConfig, questions: Iterable[dict | Sample],
                   answers_by_model: AnswersByModel,
                   references: Mapping[Any, Sequence[str]] | None,
                   out_path: str | Path, progress: bool = True,
                   judge_prompts: str | Path | None = None,
                   cache_path: str | Path | None = None) -> list[dict]:
    """Judge MT-Bench answers; returns one record per judgment (FastChat model_judgment format
    plus status/reason/usage/latency_s/cost_usd/cached), also written to `out_path`.

    questions: FastChat question dicts or harness Samples. answers_by_model: {model: {question_id:
    [turn answers]}}. references: {question_id: [reference turns]} for math/reasoning/coding
    questions; None takes Sample.references, else FastChat's shipped gpt-4 references.
    cache_path: the prompt cache (default ``<out>.cache.jsonl`` next to the judgments); a path
    shared between runs lets a new run reuse every judgment already paid for.
    Single failed judgments never raise: they are records with status "error" and a reason,
    asked again on the next run. Raises HarnessError for bad input (no key, missing references).
    """
    coro_args = (cfg, questions, answers_by_model, references, out_path, progress, judge_prompts,
                 cache_path)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(ajudge_mt_bench(*coro_args))
    # Called from inside an event loop (e.g. a notebook): run in a thread of its own.
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["v"] = asyncio.run(ajudge_mt_bench(*coro_args))
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            box["e"] = exc

    t = threading.Thread(target=target, name="mt-bench-judge")
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]
    return box["v"]


def summarize(records: Iterable[dict]) -> dict[str, Any]:
    """Counts, tokens and cost of judgment records; `new_*` counts only what was not cached."""
    recs = list(records)
    fresh = [r for r in recs if not r.get("cached")]

    def tokens(rs: list[dict], k: str) -> int:
        return sum(int((r.get("usage") or {}).get(k, 0)) for r in rs)

    return {"judgments": len(recs), "ok": sum(r.get("status") == "ok" for r in recs),
            "failed": sum(r.get("status") != "ok" for r in recs),
            "cached": len(recs) - len(fresh),
            "prompt_tokens": tokens(recs, "prompt_tokens"),
            "completion_tokens": tokens(recs, "completion_tokens"),
            "cost_usd": round(sum(float(r.get("cost_usd") or 0) for r in recs), 6),
            "new_cost_usd": round(sum(float(r.get("spent_usd", r.get("cost_usd")) or 0) for r in fresh), 6),
            "judge_latency_s": round(sum(float(r.get("latency_s") or 0) for r in fresh), 3)}
