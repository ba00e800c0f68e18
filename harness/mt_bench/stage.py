"""MT-Bench's judge stage: the judged metrics of every model row of a task.

`judge_task` is the `judge` of the metrics registered in harness/metrics/mt_bench.py; the
pipeline calls it through that seam for tasks whose metrics include them. It returns rows in
harness.run_tables.SCORE_COLUMNS layout (model, seed, task, metric, sample_id, category, score, status,
reason).

* No ``judge:`` section in the run config, or its key variable unset: every sample gets status
  "not_judged" with the reason, so the leaderboard says "not judged" and why, never a number.
* Otherwise all rows are judged in one concurrent run. Judgments go to
  ``<results>/<run>/judgments/<task>/<judge model>_<mode>.jsonl`` (FastChat's model_judgment
  format) with a summary beside them; the prompt cache is shared by all runs under
  ``<cache>/judge/<judge model>.cache.jsonl``, so no run pays twice for the same judgment.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from pydantic import ValidationError

from harness.errors import HarnessError, redact
from harness.judges.config import JudgeConfig
from harness.mt_bench.fastchat_files import as_question_id
from harness.mt_bench.runner import judge_mt_bench, summarize
from harness.mt_bench.scores import PAIRWISE_METRICS, SINGLE_METRICS, judgment_scores, not_judged_scores
from harness.store import atomic_write_json, safe_filename
from harness.types import Sample, SampleScore, Task

log = logging.getLogger("harness.judge")

NO_JUDGE_REASON = "no judge configured (add a `judge:` section to the run config)"



def judge_config_from(spec: Any) -> JudgeConfig | None:
    """A JudgeConfig from the run config's ``judge:`` value (None: no judge)."""
    if spec is None or spec == {}:
        return None
    if isinstance(spec, JudgeConfig):
        return spec
    try:
        return JudgeConfig(**dict(spec))
    except ValidationError as exc:
        msgs = "; ".join(".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in exc.errors())
        raise HarnessError(redact(msgs), field="judge") from None


def _rows(scores: list[SampleScore], model: str, seed: int, task: Task,
          by_id: Mapping[str, Sample]) -> list[dict]:
    return [{"model": model, "seed": seed, "task": task.name, "metric": sc.metric,
             "sample_id": sc.sample_id,
             "category": by_id[sc.sample_id].category if sc.sample_id in by_id else "",
             "score": sc.score, "status": sc.status, "reason": sc.reason} for sc in scores]


def judge_task(cfg: Any, task: Task, samples: list[Sample],
               answers: Mapping[tuple[str, str], list[dict]], out_dir: Path, cache_dir: Path,
               progress: bool = True, metrics: list[str] | None = None) -> list[dict]:
    """Score rows for the task's MT-Bench metrics (`metrics`, default: the task's), for every
    model row that answered it. A turn's metric is its single-mode name or its pairwise name,
    whichever `judge.mode` gives.

    cfg: the run config (uses ``cfg.judge``, a dict of JudgeConfig fields or None, and
    ``cfg.seed``). answers: {(model row, task name): [{"id": sample id, "turns": [...]}, ...]}.
    """
    seed = getattr(cfg, "seed", 0)
    names = task.metrics if metrics is None else metrics
    turns_wanted = {names_.index(m) + 1 for m in names for names_ in (SINGLE_METRICS, PAIRWISE_METRICS)
                    if m in names_}
    wanted = [SINGLE_METRICS[t - 1] for t in sorted(turns_wanted)]
    models = [row for (row, name) in answers if name == task.name]
    by_id = {s.id: s for s in samples}
    if not wanted or not models:
        return []

    jcfg = judge_config_from(getattr(cfg, "judge", None))
    reason = NO_JUDGE_REASON if jcfg is None else ""
    if jcfg is not None:
        try:
            jcfg.api_key()
        except HarnessError as exc:
            reason = exc.message
            log.warning("MT-Bench not judged: %s", reason)
    if reason:
        rows = []
        for row in models:
            rows += _rows(not_judged_scores(samples, reason, SINGLE_METRICS), row, seed, task, by_id)
        return [r for r in rows if r["metric"] in wanted]
    assert jcfg is not None

    qid_of = {s.id: as_question_id(s.meta.get("question_id", s.id)) for s in samples}
    answers_by_model = {row: {qid_of.get(rec["id"], as_question_id(rec["id"])): list(rec["turns"])
                              for rec in records}
                        for (row, name), records in answers.items() if name == task.name}
    out = Path(out_dir) / "judgments" / task.name / f"{safe_filename(jcfg.model, 'judge')}_{jcfg.mode}.jsonl"
    cache = Path(cache_dir) / "judge" / f"{safe_filename(jcfg.model, 'judge')}.cache.jsonl"
    from harness.judges.local import live_judge
    with live_judge(jcfg, Path(cache_dir)) as endpoint:
        recs = judge_mt_bench(endpoint, samples, answers_by_model, None, out, progress=progress,
                              cache_path=cache)

    from harness.mt_bench.show_result import pairwise_results, single_results
    table = (single_results(recs, keep_last=True) if jcfg.mode == "single"
             else pairwise_results(recs, keep_last=True))
    atomic_write_json(out.with_name(out.stem + ".summary.json"),
                      {"judge": jcfg.model_dump(mode="json"), "summary": summarize(recs),
                       "results": table})
    s = summarize(recs)
    log.info("MT-Bench %s: %d judgments, %d failed, %d cached, new cost $%.4f", task.name,
             s["judgments"], s["failed"], s["cached"], s["new_cost_usd"])

    metrics = SINGLE_METRICS if jcfg.mode == "single" else PAIRWISE_METRICS
    keep = {metrics[t - 1] for t in turns_wanted}
    rows = []
    for row in models:
        if jcfg.mode == "pairwise" and row == jcfg.baseline_model:
            scores = not_judged_scores(samples, "the baseline of pairwise judging", metrics)
        else:
            scores = judgment_scores(recs, row, samples)
        rows += [r for r in _rows(scores, row, seed, task, by_id) if r["metric"] in keep]
    return rows
