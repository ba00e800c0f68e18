"""harness.mt_bench.stage.judge_task: the pipeline's judge stage, with and without a judge, on real
RunConfig objects (the `judge:` section as the config loader validates it)."""
from __future__ import annotations

import json

import pytest

from harness.config import RunConfig, load_config
from harness.errors import HarnessError
from harness.mt_bench.fastchat_files import load_model_answers, load_samples
from harness.mt_bench.stage import NO_JUDGE_REASON, judge_task
from harness.types import Task

SAMPLES = [s for s in load_samples() if s.id in {"81", "111"}]
TASK = Task(name="mt_bench", load=lambda: SAMPLES, metrics=("mt_bench_turn1", "mt_bench_turn2"))
ANS = load_model_answers()


def _cfg(judge: dict | None = None, seed: int = 0) -> RunConfig:
    return RunConfig.model_validate({"run_name": "j", "seed": seed, "model": {"embedded": {}}, "methods": ["dpo"],
                                     "tasks": ["mt_bench"], "judge": judge})


def _answers():
    return {(row, "mt_bench"): [{"id": s.id, "turns": ANS[src][int(s.id)]} for s in SAMPLES]
            for row, src in (("base", "llama-13b"), ("dpo", "vicuna-13b-v1.3"))}


def test_no_judge_rows_say_not_judged(tmp_path):
    cfg = _cfg(seed=3)
    rows = judge_task(cfg, TASK, SAMPLES, _answers(), tmp_path / "out", tmp_path / "cache")
    assert len(rows) == 2 * 2 * 2
    assert all(r["status"] == "not_judged" and r["score"] is None and r["reason"] == NO_JUDGE_REASON
               and r["seed"] == 3 for r in rows)
    assert not (tmp_path / "out").exists()


def test_unset_key_is_not_judged_with_reason(tmp_path, loopback, monkeypatch):
    monkeypatch.delenv("HARNESS_TEST_UNSET_KEY", raising=False)
    cfg = _cfg({"base_url": loopback.base_url, "model": "gpt-4", "api_key_env": "HARNESS_TEST_UNSET_KEY"})
    rows = judge_task(cfg, TASK, SAMPLES, _answers(), tmp_path / "out", tmp_path / "cache")
    assert all(r["status"] == "not_judged" and "HARNESS_TEST_UNSET_KEY" in r["reason"] for r in rows)
    assert loopback.requests == 0


def test_bad_judge_config_is_bad_input(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("run_name: j\nmodel: {embedded: {}}\nmethods: [dpo]\ntasks: [mt_bench]\n"
                    "judge: {base_url: 'http://127.0.0.1:1/v1', model: m, bogus: 1}\n")
    with pytest.raises(HarnessError) as err:
        load_config(path)
    assert err.value.one_line() == f"{path}: judge.bogus: unknown field"


def test_judged_rows_and_shared_cache(tmp_path, loopback, judge_key, judge_key_env):
    spec = {"base_url": loopback.base_url, "model": "gpt-4", "api_key_env": judge_key_env,
            "backoff_base_s": 0.01}
    cfg = _cfg(spec)
    rows = judge_task(cfg, TASK, SAMPLES, _answers(), tmp_path / "run1", tmp_path / "cache",
                      progress=False)
    assert len(rows) == 8 and loopback.requests == 8
    assert all(r["status"] == "ok" and 1 <= r["score"] <= 10 for r in rows)
    assert {r["category"] for r in rows} == {"writing", "math"}
    jfile = tmp_path / "run1" / "judgments" / "mt_bench" / "gpt-4_single.jsonl"
    assert len(jfile.read_text().splitlines()) == 8
    summary = json.loads((jfile.parent / "gpt-4_single.summary.json").read_text())
    assert summary["summary"]["judgments"] == 8 and set(summary["results"]) == {"base", "dpo"}
    # another run (new results folder) reuses the shared cache: no request
    loopback.reset_counters()
    rows2 = judge_task(cfg, TASK, SAMPLES, _answers(), tmp_path / "run2", tmp_path / "cache",
                       progress=False)
    assert loopback.requests == 0 and rows2 == rows
    # pairwise against the "base" row: base is the baseline, dpo gets win/tie/loss scores
    cfg = _cfg({**spec, "mode": "pairwise", "baseline_model": "base"})
    rows3 = judge_task(cfg, TASK, SAMPLES, _answers(), tmp_path / "run3", tmp_path / "cache",
                       progress=False)
    dpo = [r for r in rows3 if r["model"] == "dpo"]
    assert {r["metric"] for r in dpo} == {"mt_bench_pairwise_turn1", "mt_bench_pairwise_turn2"}
    assert all(r["status"] == "ok" and r["score"] in (0.0, 0.5, 1.0) for r in dpo)
    assert all(r["status"] == "not_judged" for r in rows3 if r["model"] == "base")
