"""Per-sample scores from MT-Bench judgment records: the judge's 1-10 rating per turn (single),
or win 1 / tie 0.5 / loss 0 against the baseline (pairwise, FastChat's rule for inconsistent
games), and "not judged" rows, never a number, when there is no judge."""
from __future__ import annotations

from typing import Iterable, Sequence

from harness.errors import HarnessError
from harness.mt_bench.fastchat_files import dedupe
from harness.types import Sample, SampleScore

SINGLE_METRICS = ("mt_bench_turn1", "mt_bench_turn2")
PAIRWISE_METRICS = ("mt_bench_pairwise_turn1", "mt_bench_pairwise_turn2")


def judgment_scores(judgments: Iterable[dict], model: str | None = None,
                    samples: Iterable[Sample | dict] | None = None) -> list[SampleScore]:
    """Per-sample scores of one model from judgment records.

    Single mode -> metrics ``mt_bench_turn1`` / ``mt_bench_turn2``: the judge's 1-10 rating, or
    score None with status "error" and the reason where the judgment failed (score -1).
    Pairwise mode (vs the baseline) -> ``mt_bench_pairwise_turn1`` / ``_turn2``: 1 win, 0.5 tie
    or inconsistent games (FastChat's rule), 0 loss; "error" where a game failed.
    With `samples`, every sample/turn gets a score: one without any judgment is an error.
    """
    recs = dedupe(list(judgments))
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
