"""MT-Bench judging with FastChat's protocol and file formats, on a current async OpenAI client.

Data formats are FastChat's (fastchat/llm_judge): ``question.jsonl``, ``model_answer/<model>.jsonl``
(here also ``.jsonl.gz``), ``reference_answer/gpt-4.jsonl`` and ``model_judgment/*.jsonl``.

Judging (``judge_mt_bench``):

* single mode: every (model, question) gets a turn-1 judgment and, for two-turn questions, a
  turn-2 judgment with the multi-turn prompt (FastChat's ``MatchSingle(multi_turn=...)``);
* pairwise mode: every model but the baseline is compared with ``cfg.baseline_model`` per
  question and turn, in two games with the answers swapped (``play_a_match_pair``);
* each finished judgment is appended at once (fsynced) to ``out_path`` in FastChat's
  ``model_judgment`` format, plus our fields ``status`` ("ok"/"error"), ``reason``, ``usage``,
  ``latency_s``, ``cost_usd``, ``cached``;
* every successful, parsable judge reply is stored in a cache next to the judgments
  (``<out>.cache.jsonl``) under sha256(judge model + messages): a rerun, or a run resumed after a
  crash, never asks an answered prompt again, and only failed judgments are asked again;
* at the end the judgment file is rewritten (atomically) with one record per judgment, the last.
"""
from __future__ import annotations

import asyncio
import dataclasses
import gzip
import hashlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from harness.errors import HarnessError
from harness.judge.client import JudgeCall, JudgeClient, Messages
from harness.judge.config import JudgeConfig
from harness.judge.parse import parse_pair, parse_rating
from harness.judge.prompts import (MT_BENCH_DIR, fill_pair, fill_single, load_judge_prompts,
                                   needs_reference, prompt_name, to_messages)
from harness.store import JsonlAppender, atomic_write_text, read_jsonl
from harness.types import Sample, SampleScore

log = logging.getLogger("harness.judge")

QUESTION_FILE = MT_BENCH_DIR / "question.jsonl"
REFERENCE_FILE = MT_BENCH_DIR / "reference_answer" / "gpt-4.jsonl"
MODEL_ANSWER_DIR = MT_BENCH_DIR / "model_answer"

# fastchat.llm_judge.common.temperature_config; other categories get 0.7 (gen_model_answer.py).
TEMPERATURE_BY_CATEGORY: dict[str, float] = {
    "writing": 0.7,
    "roleplay": 0.7,
    "extraction": 0.0,
    "math": 0.0,
    "coding": 0.0,
    "reasoning": 0.0,
    "stem": 0.1,
    "humanities": 0.1,
    "arena-hard-200": 0.0,
}
DEFAULT_TEMPERATURE = 0.7

API_ERROR_OUTPUT = "$ERROR$"  # FastChat's judgment text when the API call failed
SINGLE_METRICS = ("mt_bench_turn1", "mt_bench_turn2")
PAIRWISE_METRICS = ("mt_bench_pairwise_turn1", "mt_bench_pairwise_turn2")

AnswersByModel = Mapping[str, Mapping[Any, Sequence[str]]]


def temperature_for(category: str) -> float:
    """FastChat's answer-generation temperature for an MT-Bench category."""
    return TEMPERATURE_BY_CATEGORY.get(category, DEFAULT_TEMPERATURE)


def _qid(x: Any) -> Any:
    """Question ids are ints in FastChat's files; a harness Sample's id is a string."""
    if isinstance(x, str) and x.strip().lstrip("-").isdigit():
        return int(x)
    return x


# ----------------------------------------------------------------------------- loading


def _read_jsonl_any(path: Path) -> list[dict]:
    """A FastChat JSONL file (.jsonl or .jsonl.gz) that must exist and be whole."""
    if not path.exists():
        raise HarnessError("file not found", file=path)
    return read_jsonl(path, tolerate_partial_tail=False)


def load_questions(path: str | Path | None = None, begin: int | None = None,
                   end: int | None = None) -> list[dict]:
    """FastChat's ``load_questions``: question dicts (question_id, category, turns, ...)."""
    p = Path(path or QUESTION_FILE)
    rows = _read_jsonl_any(p)
    for i, q in enumerate(rows, 1):
        for field in ("question_id", "category", "turns"):
            if field not in q:
                raise HarnessError("missing field", file=p, row=i, field=field)
        if not isinstance(q["turns"], list) or not q["turns"]:
            raise HarnessError("must be a non-empty list", file=p, row=i, field="turns")
    return rows[begin:end]


def _model_name(path: Path) -> str:
    name = path.name
    for suffix in (".jsonl.gz", ".jsonl"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _answer_file(path: Path) -> dict[Any, list[str]]:
    answers: dict[Any, list[str]] = {}
    for i, row in enumerate(_read_jsonl_any(path), 1):
        try:
            turns = row["choices"][0]["turns"]
            qid = row["question_id"]
        except (KeyError, IndexError, TypeError):
            raise HarnessError("not a FastChat model_answer row (question_id, "
                               "choices[0].turns)", file=path, row=i) from None
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            raise HarnessError("must be a list of strings", file=path, row=i,
                               field="choices[0].turns")
        answers[_qid(qid)] = list(turns)  # a later line wins, as in FastChat
    return answers


def load_model_answers(path_or_dir: str | Path | None = None) -> dict[str, dict[Any, list[str]]]:
    """{model: {question_id: [turn answers]}} from FastChat model_answer files.

    A directory: every ``*.jsonl`` / ``*.jsonl.gz`` in it, the model named after the file as in
    FastChat. A file: that model only. ``choices[0]`` is used, as FastChat's judge does.
    """
    p = Path(path_or_dir or MODEL_ANSWER_DIR)
    if p.is_dir():
        files = sorted([*p.glob("*.jsonl"), *p.glob("*.jsonl.gz")])
        if not files:
            raise HarnessError("no *.jsonl or *.jsonl.gz model answer files", file=p)
    elif p.exists():
        files = [p]
    else:
        raise HarnessError("model answer file or folder not found", file=p)
    out: dict[str, dict[Any, list[str]]] = {}
    for f in files:
        name = _model_name(f)
        if name in out:
            raise HarnessError(f"two answer files for model {name!r}", file=f)
        out[name] = _answer_file(f)
    return out


def load_reference_answers(path: str | Path | None = None) -> dict[Any, list[str]]:
    """{question_id: [reference turns]}; default: FastChat's gpt-4 references (30 questions)."""
    answers = load_model_answers(Path(path or REFERENCE_FILE))
    return next(iter(answers.values()))


def load_samples(question_path: str | Path | None = None,
                 reference_path: str | Path | None = None) -> list[Sample]:
    """MT-Bench questions as harness Samples (id = str(question_id), references per turn for
    reference-graded categories, meta carries question_id and the answer temperature)."""
    refs = load_reference_answers(reference_path)
    samples = []
    for q in load_questions(question_path):
        qid = q["question_id"]
        samples.append(Sample(
            id=str(qid), turns=list(q["turns"]), references=list(refs.get(qid, [])),
            category=q["category"],
            meta={"question_id": qid, "temperature": temperature_for(q["category"])}))
    return samples


def write_model_answers(path: str | Path, model_id: str,
                        answers: Mapping[Any, Sequence[str]]) -> Path:
    """Write FastChat's model_answer format (sorted by question id, one row per question, as
    after ``reorg_answer_file``); ``.gz`` paths are gzipped. Atomic."""
    p = Path(path)
    now = time.time()
    lines = []
    for qid in sorted(answers, key=lambda x: (str(type(_qid(x))), _qid(x))):
        turns = [str(t) for t in answers[qid]]
        answer_id = hashlib.sha256(json.dumps([model_id, str(qid), turns]).encode()).hexdigest()[:22]
        lines.append(json.dumps({"question_id": _qid(qid), "answer_id": answer_id,
                                 "model_id": model_id,
                                 "choices": [{"index": 0, "turns": turns}], "tstamp": now}))
    text = "".join(line + "\n" for line in lines)
    if p.name.endswith(".gz"):
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as f:
            f.write(text)
        tmp.replace(p)
    else:
        atomic_write_text(p, text)
    return p


# ----------------------------------------------------------------------------- matches


@dataclasses.dataclass
class _Game:
    messages: Messages
    user_prompt: str
    key: str


@dataclasses.dataclass
class _Match:
    qid: Any
    category: str
    turn: int
    prompt: dict
    models: tuple[str, ...]  # (model,) single; (model_1, model_2) pairwise
    games: list[_Game]
    judge_model: str
    error: str = ""  # set when the match cannot be played (missing answer)

    @property
    def judge(self) -> list[str]:
        return [self.judge_model, self.prompt["name"]]

    def record_key(self) -> tuple:
        return (str(self.qid), *self.models, self.turn, self.judge_model, self.prompt["name"])


def cache_key(judge_model: str, messages: Messages) -> str:
    blob = json.dumps({"model": judge_model, "messages": messages}, sort_keys=True,
                      ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def cache_path_for(out_path: str | Path) -> Path:
    p = Path(out_path)
    stem = p.name[:-len(".jsonl")] if p.name.endswith(".jsonl") else p.name
    return p.with_name(stem + ".cache.jsonl")


def record_key(rec: dict) -> tuple:
    """The identity of a judgment record: question, model(s), turn, judge."""
    judge = tuple(rec.get("judge") or ())
    if "model" in rec:
        return (str(rec["question_id"]), rec["model"], rec.get("turn", 1), *judge)
    return (str(rec["question_id"]), rec["model_1"], rec["model_2"], rec.get("turn", 1), *judge)


def _normalize_questions(questions: Iterable[dict | Sample]) -> list[dict]:
    out = []
    for q in questions:
        if isinstance(q, Sample):
            out.append({"question_id": _qid(q.meta.get("question_id", q.id)),
                        "category": q.category, "turns": list(q.turns),
                        "_references": list(q.references)})
        else:
            out.append({"question_id": _qid(q["question_id"]), "category": q.get("category", ""),
                        "turns": list(q["turns"])})
    return out


def _references_for(questions: list[dict], references: Mapping[Any, Sequence[str]] | None
                    ) -> dict[Any, list[str]]:
    refs: dict[Any, list[str]] = {}
    default: dict[Any, list[str]] | None = None
    given = {_qid(k): v for k, v in references.items()} if references is not None else None
    missing = []
    for q in questions:
        if not needs_reference(q["category"]):
            continue
        qid = q["question_id"]
        if given is not None:
            r = given.get(qid)
        elif q.get("_references"):
            r = q["_references"]
        else:
            if default is None:
                default = load_reference_answers()
            r = default.get(qid)
        need = min(len(q["turns"]), 2)
        if r is None or len(r) < need:
            missing.append(str(qid))
        else:
            refs[qid] = list(r)
    if missing:
        raise HarnessError(f"no reference answer for {len(missing)} question(s) of categories "
                           f"graded against a reference: {', '.join(missing[:10])}",
                           field="references")
    return refs


def _build_matches(cfg: JudgeConfig, questions: list[dict], answers: dict[str, dict[Any, list[str]]],
                   refs: dict[Any, list[str]], prompts: dict[str, dict]) -> list[_Match]:
    matches: list[_Match] = []
    if cfg.mode == "single":
        pairings = [(m,) for m in answers]
    else:
        pairings = [(m, cfg.baseline_model) for m in answers if m != cfg.baseline_model]
    for models in pairings:
        for q in questions:
            qid, cat, qturns = q["question_id"], q["category"], q["turns"]
            for turn in (1, 2):
                multi = turn == 2
                if multi and len(qturns) != 2:
                    continue  # FastChat: multi-turn matches only for two-turn questions
                prompt = prompts[prompt_name(cat, cfg.mode, multi)]
                ref = refs.get(qid) if needs_reference(cat) else None
                m = _Match(qid=qid, category=cat, turn=turn, prompt=prompt, models=models,
                           games=[], judge_model=cfg.model)
                ans = []
                for model in models:
                    a = answers[model].get(qid)
                    if a is None or len(a) < turn:
                        m.error = (f"model {model!r} has no answer to question {qid}"
                                   + (f" turn {turn}" if a is not None else ""))
                        break
                    ans.append(list(a))
                if not m.error:
                    if cfg.mode == "single":
                        up = fill_single(prompt, qturns, ans[0], ref, multi)
                        m.games.append(_game(cfg, prompt, up))
                    else:
                        for a_, b_ in ((ans[0], ans[1]), (ans[1], ans[0])):
                            up = fill_pair(prompt, qturns, a_, b_, ref, multi)
                            m.games.append(_game(cfg, prompt, up))
                matches.append(m)
    return matches


def _game(cfg: JudgeConfig, prompt: dict, user_prompt: str) -> _Game:
    messages = to_messages(prompt, user_prompt)
    return _Game(messages=messages, user_prompt=user_prompt, key=cache_key(cfg.model, messages))


# ----------------------------------------------------------------------------- judging


@dataclasses.dataclass
class _Outcome:
    text: str | None
    parsed: Any
    reason: str
    usage: dict[str, int]
    latency_s: float
    cost_usd: float
    cached: bool


class _Runner:
    def __init__(self, cfg: JudgeConfig, client: JudgeClient, cache: dict[str, dict],
                 cache_out: JsonlAppender) -> None:
        self.cfg = cfg
        self.client = client
        self.cache = cache
        self.cache_out = cache_out
        self.inflight: dict[str, asyncio.Future] = {}

    async def play(self, game: _Game, parse: Callable[[str], tuple[Any, str]]) -> _Outcome:
        hit = self.cache.get(game.key)
        if hit is not None:
            parsed, reason = parse(hit["judgment"])
            return _Outcome(hit["judgment"], parsed, reason, hit.get("usage", {}),
                            hit.get("latency_s", 0.0), hit.get("cost_usd", 0.0), True)
        if game.key in self.inflight:  # the same prompt asked by another match right now
            return await asyncio.shield(self.inflight[game.key])
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

    async def _ask(self, game: _Game, parse: Callable[[str], tuple[Any, str]]) -> _Outcome:
        call: JudgeCall = await self.client.complete(game.messages)
        if not call.ok:
            parsed, _ = parse(API_ERROR_OUTPUT)
            return _Outcome(None, parsed, call.reason, call.usage, call.latency_s,
                            call.cost_usd, False)
        parsed, reason = parse(call.text or "")
        if not reason:  # only parsable answers are cached: a failed one is asked again next run
            entry = {"key": game.key, "judge_model": self.cfg.model, "judgment": call.text,
                     "usage": call.usage, "latency_s": round(call.latency_s, 4),
                     "cost_usd": call.cost_usd, "tstamp": time.time()}
            self.cache[game.key] = entry
            self.cache_out.write(entry)
        return _Outcome(call.text, parsed, reason, call.usage, call.latency_s, call.cost_usd,
                        False)


def _sum_usage(outs: list[_Outcome]) -> dict[str, int]:
    return {k: sum(int(o.usage.get(k, 0)) for o in outs)
            for k in ("prompt_tokens", "completion_tokens")}


async def _judge_match(runner: _Runner, m: _Match) -> dict:
    now = time.time()
    judge = m.judge
    if len(m.models) == 1:
        rec: dict[str, Any] = {"question_id": m.qid, "model": m.models[0], "judge": judge}
        if m.error:
            rec.update(user_prompt="", judgment="", score=-1, turn=m.turn, tstamp=now,
                       status="error", reason=m.error, usage=_sum_usage([]), latency_s=0.0,
                       cost_usd=0.0, cached=False)
            return rec
        g = m.games[0]
        o = await runner.play(g, parse_rating)
        rec.update(user_prompt=g.user_prompt,
                   judgment=o.text if o.text is not None else API_ERROR_OUTPUT,
                   score=o.parsed, turn=m.turn, tstamp=time.time(),
                   status="ok" if not o.reason else "error", reason=o.reason, usage=o.usage,
                   latency_s=round(o.latency_s, 4), cost_usd=o.cost_usd, cached=o.cached)
        return rec

    model_1, model_2 = m.models
    rec = {"question_id": m.qid, "model_1": model_1, "model_2": model_2}
    if m.error:
        rec.update(g1_winner="error", g2_winner="error", judge=judge, g1_user_prompt="",
                   g1_judgment="", g2_user_prompt="", g2_judgment="", turn=m.turn, tstamp=now,
                   status="error", reason=m.error, usage=_sum_usage([]), latency_s=0.0,
                   cost_usd=0.0, cached=False)
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
               cost_usd=o1.cost_usd + o2.cost_usd, cached=o1.cached and o2.cached)
    return rec


_CONTENT_FIELDS = ("status", "score", "judgment", "user_prompt", "g1_winner", "g2_winner",
                   "g1_judgment", "g2_judgment", "g1_user_prompt", "g2_user_prompt")


def _same(a: dict | None, b: dict) -> bool:
    return a is not None and all(a.get(k) == b.get(k) for k in _CONTENT_FIELDS)


def _dedupe(records: list[dict]) -> list[dict]:
    last: dict[tuple, dict] = {}
    for r in records:
        last.pop(record_key(r), None)  # re-insert: order of last appearance
        last[record_key(r)] = r
    return list(last.values())


def load_judgments(path: str | Path) -> list[dict]:
    """Judgment records of a file, one per judgment (the last one written wins)."""
    return _dedupe(read_jsonl(Path(path)))


async def ajudge_mt_bench(cfg: JudgeConfig, questions: Iterable[dict | Sample],
                          answers_by_model: AnswersByModel,
                          references: Mapping[Any, Sequence[str]] | None,
                          out_path: str | Path, progress: bool = True,
                          judge_prompts: str | Path | None = None,
                          cache_path: str | Path | None = None) -> list[dict]:
    """Async form of `judge_mt_bench`."""
    out = Path(out_path)
    qs = _normalize_questions(questions)
    answers = {m: {_qid(k): list(v) for k, v in a.items()} for m, a in answers_by_model.items()}
    if cfg.mode == "pairwise":
        base = cfg.baseline_model
        assert base is not None
        if base not in answers:
            shipped = {_model_name(p) for p in MODEL_ANSWER_DIR.glob("*.jsonl*")}
            if base not in shipped:
                raise HarnessError(f"no answers for baseline model {base!r} (pass them in "
                                   f"answers_by_model; shipped: {', '.join(sorted(shipped))})",
                                   field="judge.baseline_model")
            answers[base] = load_model_answers(MODEL_ANSWER_DIR)[base]
    refs = _references_for(qs, references)
    matches = _build_matches(cfg, qs, answers, refs, load_judge_prompts(judge_prompts))

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

            async def one(i: int, m: _Match) -> None:
                rec = await _judge_match(runner, m)
                prev = existing.get(m.record_key())
                if _same(prev, rec):
                    rec = prev  # already written by an earlier run: keep it, append nothing
                else:
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
    deduped = _dedupe(all_records)
    if len(deduped) != len(all_records):
        atomic_write_text(out, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n"
                                       for r in deduped))
    log.info("MT-Bench judging: %d ok, %d failed, %d from cache, %d HTTP requests",
             counts["ok"], counts["error"], counts["cached"], client.requests)
    return [r for r in results if r is not None]


def _progress(enabled: bool, total: int, cfg: JudgeConfig):
    if not enabled:
        return None
    from harness.console import console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=console)
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
            "new_cost_usd": round(sum(float(r.get("cost_usd") or 0) for r in fresh), 6),
            "judge_latency_s": round(sum(float(r.get("latency_s") or 0) for r in fresh), 3)}


# ----------------------------------------------------------------------------- per-sample scores


def judgment_scores(judgments: Iterable[dict], model: str | None = None,
                    samples: Iterable[Sample | dict] | None = None) -> list[SampleScore]:
    """Per-sample scores of one model from judgment records.

    Single mode -> metrics ``mt_bench_turn1`` / ``mt_bench_turn2``: the judge's 1-10 rating, or
    score None with status "error" and the reason where the judgment failed (score -1).
    Pairwise mode (vs the baseline) -> ``mt_bench_pairwise_turn1`` / ``_turn2``: 1 win, 0.5 tie
    or inconsistent games (FastChat's rule), 0 loss; "error" where a game failed.
    With `samples`, every sample/turn gets a score: one without any judgment is an error.
    """
    recs = _dedupe(list(judgments))
    samples = list(samples) if samples is not None else None
    sid_of = {qid: sid for sid, qid, _ in map(_sample_ids, samples or [])}
    models = {r.get("model", r.get("model_1")) for r in recs}
    if model is None:
        if len(models) > 1:
            raise HarnessError(f"judgments hold {len(models)} models: name one", field="model")
        model = next(iter(models), None)
    out: dict[tuple[str, str], SampleScore] = {}
    for r in recs:
        sid = sid_of.get(str(r["question_id"]), str(r["question_id"]))
        turn = int(r.get("turn", 1))
        if "model" in r:
            if r["model"] != model:
                continue
            metric = SINGLE_METRICS[turn - 1]
            score = r.get("score", -1)
            if r.get("status", "ok") == "ok" and score is not None and score != -1:
                out[(sid, metric)] = SampleScore(sid, metric, float(score))
            else:
                out[(sid, metric)] = SampleScore(sid, metric, None, "error",
                                                 r.get("reason") or "judge gave no rating")
        else:
            if model not in (r["model_1"], r["model_2"]):
                continue
            metric = PAIRWISE_METRICS[turn - 1]
            g1, g2 = r.get("g1_winner"), r.get("g2_winner")
            if "error" in (g1, g2):
                out[(sid, metric)] = SampleScore(sid, metric, None, "error",
                                                 r.get("reason") or "judge gave no verdict")
                continue
            me = "model_1" if r["model_1"] == model else "model_2"
            if g1 == "tie" or g1 != g2:
                score = 0.5
            else:
                score = 1.0 if g1 == me else 0.0
            out[(sid, metric)] = SampleScore(sid, metric, score)
    if samples is not None:
        pairwise = any("model_1" in r for r in recs)
        metrics = PAIRWISE_METRICS if pairwise else SINGLE_METRICS
        for s in samples:
            sid, _, n_turns = _sample_ids(s)
            for turn in range(1, min(n_turns, 2) + 1):
                key = (sid, metrics[turn - 1])
                if key not in out:
                    out[key] = SampleScore(sid, key[1], None, "error", "no judgment recorded")
    return sorted(out.values(), key=lambda s: (_sort_id(s.sample_id), s.metric))


def _sample_ids(s: Sample | dict) -> tuple[str, str, int]:
    """(sample id, question id as a string, number of turns)."""
    if isinstance(s, Sample):
        return s.id, str(s.meta.get("question_id", s.id)), len(s.turns)
    qid = str(s["question_id"] if "question_id" in s else s["id"])
    return str(s.get("id", qid)), qid, len(s["turns"])


def _sort_id(sid: str) -> tuple:
    return (0, int(sid), "") if sid.lstrip("-").isdigit() else (1, 0, sid)


def not_judged_scores(samples: Iterable[Sample | dict], reason: str,
                      metrics: Sequence[str] = SINGLE_METRICS) -> list[SampleScore]:
    """Status "not_judged" (score None) for every sample and turn: the leaderboard then says
    "not judged" and why (e.g. no judge configured), never a number."""
    out = []
    for s in samples:
        sid, _, n_turns = _sample_ids(s)
        for turn in range(1, min(n_turns, len(metrics)) + 1):
            out.append(SampleScore(sid, metrics[turn - 1], None, "not_judged", reason))
    return out
