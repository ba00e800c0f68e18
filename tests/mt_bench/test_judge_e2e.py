"""End to end through a real HTTP loopback judge: single and pairwise judging, the cache,
resuming, fault injection, retries, concurrency, key redaction, and the no-judge path."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from loopback_judge import deterministic_reply
from pydantic import ValidationError

from harness.errors import HarnessError
from harness.judges.config import JudgeConfig
from harness.mt_bench.fastchat_files import load_model_answers, load_questions, load_samples, record_key
from harness.mt_bench.runner import cache_path_for, judge_mt_bench, summarize
from harness.mt_bench.scores import judgment_scores, not_judged_scores
from harness.mt_bench.parse import parse_pair, parse_rating
from harness.mt_bench.show_result import pairwise_results, single_results
from harness.store import read_jsonl

QIDS = [81, 91, 101, 111, 121, 131]  # writing, roleplay, reasoning, math, coding, extraction
ANSWERS = load_model_answers()
QUESTIONS = load_questions()


def _questions(qids):
    return [q for q in QUESTIONS if q["question_id"] in qids]


def _answers(models: dict[str, str], qids):
    return {name: {q: ANSWERS[src][q] for q in qids} for name, src in models.items()}


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _reply_for(system: str, user: str) -> str:
    return deterministic_reply([{"role": "system", "content": system},
                                {"role": "user", "content": user}])


FASTCHAT_SINGLE = {"question_id", "model", "judge", "user_prompt", "judgment", "score", "turn",
                   "tstamp"}
FASTCHAT_PAIR = {"question_id", "model_1", "model_2", "g1_winner", "g2_winner", "judge",
                 "g1_user_prompt", "g1_judgment", "g2_user_prompt", "g2_judgment", "turn",
                 "tstamp"}
EXTRA = {"status", "reason", "usage", "latency_s", "cost_usd", "cached", "spent_usd"}
CALL_FIELDS = ("tstamp", "latency_s", "cached", "spent_usd")  # what one call did, not the judgment


def _judgment(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in CALL_FIELDS}


def test_single_end_to_end_and_rerun_uses_cache(loopback, make_cfg, tmp_path):
    cfg = make_cfg(cost_per_1k_input=1.0, cost_per_1k_output=2.0)
    out = tmp_path / "judgment" / "gpt-4_single.jsonl"
    answers = _answers({"model-x": "llama-13b", "model-y": "vicuna-13b-v1.3"}, QIDS)
    recs = judge_mt_bench(cfg, _questions(QIDS), answers, None, out, progress=False)

    assert len(recs) == len(QIDS) * 2 * 2 == loopback.requests
    sys_by_name = {b["messages"][1]["content"]: b["messages"][0]["content"]
                   for b in loopback.bodies}
    for r in recs:
        assert set(r) == FASTCHAT_SINGLE | EXTRA
        assert r["status"] == "ok" and r["reason"] == "" and not r["cached"]
        expected_text = _reply_for(sys_by_name[r["user_prompt"]], r["user_prompt"])
        assert r["judgment"] == expected_text
        assert r["score"] == parse_rating(expected_text)[0]
        assert r["judge"][0] == "gpt-4" and r["judge"][1].startswith("single")
        assert r["judge"][1].endswith("multi-turn") == (r["turn"] == 2)
        assert ("math" in r["judge"][1]) == (r["question_id"] in (101, 111, 121))
        u = r["usage"]
        assert u["prompt_tokens"] > 0 and u["completion_tokens"] > 0
        assert r["cost_usd"] == pytest.approx((u["prompt_tokens"] + 2 * u["completion_tokens"])
                                              / 1000)
    body = loopback.bodies[0]
    assert (body["model"], body["temperature"], body["max_tokens"], body["n"]) == ("gpt-4", 0, 2048, 1)

    on_disk = _lines(out)
    assert sorted(map(record_key, on_disk)) == sorted(map(record_key, recs))
    assert len(read_jsonl(cache_path_for(out))) == len(recs)
    table = single_results(on_disk)
    assert set(table) == {"model-x", "model-y"}
    scores = judgment_scores(recs, "model-x", load_samples()[:1])
    assert {s.metric for s in scores} == {"mt_bench_turn1", "mt_bench_turn2"}
    assert all(s.status == "ok" and 1 <= s.score <= 10 for s in scores if s.sample_id != "82")

    # Rerun: nothing is asked again, nothing appended.
    loopback.reset_counters()
    recs2 = judge_mt_bench(cfg, _questions(QIDS), answers, None, out, progress=False)
    assert loopback.requests == 0
    assert [_judgment(r) for r in recs2] == [_judgment(r) for r in recs]
    # and says so: every record served without a request, nothing spent (it once returned the first
    # call's records, "not cached", and a CLI summed their cost as spent again)
    assert all(r["cached"] and r["spent_usd"] == 0 for r in recs2)
    assert summarize(recs2)["new_cost_usd"] == 0 and summarize(recs)["new_cost_usd"] > 0
    assert _lines(out) == on_disk


def test_crashed_run_resumes_without_reasking(loopback, make_cfg, tmp_path):
    cfg = make_cfg()
    out = tmp_path / "j.jsonl"
    answers = _answers({"m": "llama-13b"}, QIDS)
    recs = judge_mt_bench(cfg, _questions(QIDS), answers, None, out, progress=False)
    # A killed run: half the judgments written, the last line cut short.
    text = out.read_text().splitlines(keepends=True)
    out.write_text("".join(text[:5]) + text[5][:40])
    loopback.reset_counters()
    recs2 = judge_mt_bench(cfg, _questions(QIDS), answers, None, out, progress=False)
    assert loopback.requests == 0
    assert [r["score"] for r in recs2] == [r["score"] for r in recs]
    assert len(_lines(out)) == len(recs)
    assert all(r["cached"] for r in recs2)  # no request: the 5 on file and the rest rebuilt from the cache


def test_pairwise_end_to_end(loopback, make_cfg, tmp_path):
    cfg = make_cfg(mode="pairwise", baseline_model="base")
    out = tmp_path / "pair.jsonl"
    answers = _answers({"model-x": "vicuna-13b-v1.3", "base": "llama-13b"}, QIDS)
    recs = judge_mt_bench(cfg, _questions(QIDS), answers, None, out, progress=False)
    assert len(recs) == len(QIDS) * 2 and loopback.requests == 2 * len(recs)
    sys_by_user = {b["messages"][1]["content"]: b["messages"][0]["content"]
                   for b in loopback.bodies}
    for r in recs:
        assert set(r) == FASTCHAT_PAIR | EXTRA
        assert (r["model_1"], r["model_2"]) == ("model-x", "base")
        # game 1: A = model_1 (model-x); game 2: swapped, A = model_2 (base)
        ax, ab = answers["model-x"][r["question_id"]], answers["base"][r["question_id"]]
        g1, g2 = r["g1_user_prompt"], r["g2_user_prompt"]
        assert g1.index(ax[0]) < g1.index(ab[0]) and g2.index(ab[0]) < g2.index(ax[0])
        v1 = parse_pair(_reply_for(sys_by_user[g1], g1))[0]
        v2 = parse_pair(_reply_for(sys_by_user[g2], g2))[0]
        assert r["g1_winner"] == {"A": "model_1", "B": "model_2"}.get(v1, v1)
        assert r["g2_winner"] == {"A": "model_2", "B": "model_1"}.get(v2, v2)
        assert r["judge"][1].startswith("pair-")
    table = pairwise_results(_lines(out))
    assert set(table) == {"model-x"}
    n = table["model-x"]
    assert n["win"] + n["loss"] + n["tie"] == len(recs)
    scores = judgment_scores(recs, "model-x")
    assert {s.metric for s in scores} == {"mt_bench_pairwise_turn1", "mt_bench_pairwise_turn2"}
    assert all(s.score in (0.0, 0.5, 1.0) for s in scores)


def test_pairwise_baseline_from_shipped_answers(loopback, make_cfg, tmp_path):
    cfg = make_cfg(mode="pairwise", baseline_model="gpt-3.5-turbo")
    recs = judge_mt_bench(cfg, _questions([81]), _answers({"mine": "llama-13b"}, [81]), None,
                          tmp_path / "p.jsonl", progress=False)
    assert [r["model_2"] for r in recs] == ["gpt-3.5-turbo"] * 2
    assert ANSWERS["gpt-3.5-turbo"][81][0] in recs[0]["g1_user_prompt"]


def _single_gaps(recs):
    return sum(r["status"] != "ok" for r in recs)


def _pair_gaps(recs):
    return sum((r["g1_winner"] == "error") + (r["g2_winner"] == "error") for r in recs)


@pytest.mark.parametrize("mode", ["single", "pairwise"])
def test_faults_nothing_lost_and_rerun_fills_gaps(loopback, make_cfg, tmp_path, mode):
    # 30 % of requests fail; seed 4 puts every kind of fault among the first 20 requests
    loopback.set_faults(fail_500=0.1, fail_429=0.05, hang=0.05, garbage=0.1, seed=4)
    qids = list(range(81, 101)) if mode == "single" else list(range(81, 91))
    pair = mode == "pairwise"
    cfg = make_cfg(max_retries=1, timeout_s=0.4, mode=mode,
                   baseline_model="base" if pair else None)
    answers = _answers({"m": "vicuna-13b-v1.3", **({"base": "llama-13b"} if pair else {})}, qids)
    out = tmp_path / "j.jsonl"
    recs = judge_mt_bench(cfg, _questions(qids), answers, None, out, progress=False)

    expected_keys = {(str(q), *(("m", "base") if pair else ("m",)), t) for q in qids for t in (1, 2)}
    assert {record_key(r)[:-2] for r in recs} == expected_keys      # every judgment recorded
    assert {record_key(r)[:-2] for r in _lines(out)} == expected_keys
    assert len(_lines(out)) == len(expected_keys)
    assert set(loopback.faults) == {"fail_500", "fail_429", "hang", "garbage"}
    gaps = _pair_gaps(recs) if pair else _single_gaps(recs)
    assert gaps > 0
    for r in recs:
        if r["status"] != "ok":
            assert r["reason"], r
            if not pair:
                assert r["score"] == -1
    reasons = " ".join(r["reason"] for r in recs)
    assert "no [[" in reasons  # garbage replies are marked, not lost

    loopback.set_faults()
    loopback.reset_counters()
    recs2 = judge_mt_bench(cfg, _questions(qids), answers, None, out, progress=False)
    assert loopback.requests == gaps          # only the gaps were asked: the cache held the rest
    assert all(r["status"] == "ok" for r in recs2)
    assert len(_lines(out)) == len(expected_keys)
    ok_before = {record_key(r): r for r in recs if r["status"] == "ok"}
    for r in recs2:
        if record_key(r) in ok_before:
            assert _judgment(r) == _judgment(ok_before[record_key(r)])
            assert r["cached"] and r["spent_usd"] == 0


@pytest.mark.parametrize("mode", ["single", "pairwise"])
def test_transport_faults_of_every_kind_lose_no_judgment(loopback, make_cfg, tmp_path, mode):
    """A third of all requests fail in transport (500, 429 with Retry-After, a hang past the
    timeout, a reset connection, a 200 with a truncated JSON body): every one is retried within
    the run, and none is lost."""
    transport = ("fail_500", "fail_429", "hang", "reset", "truncated")
    loopback.set_faults(**{k: 0.07 for k in transport}, seed=7)
    loopback.hang_s = 2.0  # past the client's 0.5 s timeout
    qids = list(range(81, 101)) if mode == "single" else list(range(81, 91))
    pair = mode == "pairwise"
    cfg = make_cfg(max_retries=12, timeout_s=0.5, mode=mode, baseline_model="base" if pair else None)
    answers = _answers({"m": "vicuna-13b-v1.3", **({"base": "llama-13b"} if pair else {})}, qids)
    recs = judge_mt_bench(cfg, _questions(qids), answers, None, tmp_path / "j.jsonl", progress=False)
    assert set(loopback.faults) == set(transport)  # every kind was injected
    injected = sum(loopback.faults.values())
    assert injected / loopback.requests >= 0.25
    assert len(recs) == len(qids) * 2 and all(r["status"] == "ok" for r in recs), \
        [r["reason"] for r in recs if r["status"] != "ok"]


def test_retries_are_ours_and_bounded(loopback, make_cfg, tmp_path):
    loopback.set_faults(fail_500=1.0)
    cfg = make_cfg(max_retries=2)
    recs = judge_mt_bench(cfg, _questions([81]), _answers({"m": "llama-13b"}, [81]), None,
                          tmp_path / "j.jsonl", progress=False)
    assert loopback.requests == 2 * 3  # 2 judgments x (1 + 2 retries), SDK retries off
    assert all(r["status"] == "error" and r["reason"].startswith("gave up after 3 attempts: HTTP 500")
               and r["judgment"] == "$ERROR$" and r["score"] == -1 for r in recs)
    scores = judgment_scores(recs, "m")
    assert all(s.status == "error" and s.score is None and "HTTP 500" in s.reason for s in scores)


def test_concurrency_is_bounded(loopback, make_cfg, tmp_path):
    loopback.latency_ms = 40
    cfg = make_cfg(concurrency=3)
    qids = list(range(81, 91))
    judge_mt_bench(cfg, _questions(qids), _answers({"m": "llama-13b"}, qids), None,
                   tmp_path / "j.jsonl", progress=False)
    assert loopback.requests == 20
    assert 2 <= loopback.max_inflight <= 3


def test_missing_answer_is_recorded_then_filled(loopback, make_cfg, tmp_path):
    cfg = make_cfg()
    out = tmp_path / "j.jsonl"
    answers = _answers({"m": "llama-13b"}, [81, 82])
    answers["m"][82] = answers["m"][82][:1]  # no turn-2 answer
    del answers["m"][81]
    recs = judge_mt_bench(cfg, _questions([81, 82]), answers, None, out, progress=False)
    assert loopback.requests == 1
    bad = [r for r in recs if r["status"] == "error"]
    assert len(bad) == 3 and all("no answer" in r["reason"] for r in bad)
    full = _answers({"m": "llama-13b"}, [81, 82])
    loopback.reset_counters()
    recs = judge_mt_bench(cfg, _questions([81, 82]), full, None, out, progress=False)
    assert loopback.requests == 3 and all(r["status"] == "ok" for r in recs)


def test_missing_reference_is_bad_input(make_cfg, tmp_path):
    with pytest.raises(HarnessError, match="reference"):
        judge_mt_bench(make_cfg(), _questions([111]), _answers({"m": "llama-13b"}, [111]), {},
                       tmp_path / "j.jsonl", progress=False)


def test_api_key_never_written_or_logged(loopback, make_cfg, tmp_path, caplog, capfd,
                                         judge_key):
    secret = judge_key
    caplog.set_level(logging.DEBUG)
    assert JudgeConfig.model_fields.get("api_key") is None
    cfg = make_cfg(max_retries=1)
    for text in (repr(cfg), str(cfg), cfg.model_dump_json()):
        assert secret not in text
    loopback.set_faults(fail_500=0.3, garbage=0.2)
    judge_mt_bench(cfg, _questions(QIDS), _answers({"m": "llama-13b"}, QIDS), None,
                   tmp_path / "a.jsonl", progress=True)
    loopback.set_faults()
    loopback.echo_key_401 = True  # the server quotes the key back in its error message
    loopback.reset_counters()
    recs = judge_mt_bench(cfg, _questions(QIDS), _answers({"m": "vicuna-13b-v1.3"}, QIDS), None,
                          tmp_path / "b.jsonl", progress=True)
    assert loopback.requests == len(recs)  # a 401 is not retried
    assert all(r["status"] == "error" and "HTTP 401" in r["reason"] and "***" in r["reason"]
               for r in recs)
    assert all(h == f"Bearer {secret}" for h in loopback.auth_headers)  # the key was used

    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f
    out, err = capfd.readouterr()
    assert secret not in out + err
    assert secret not in caplog.text
    assert any("HTTP 401" in r.getMessage() for r in caplog.records)


def test_unset_key_env_is_a_clean_error(loopback, tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_TEST_UNSET_KEY", raising=False)
    cfg = JudgeConfig(base_url=loopback.base_url, model="gpt-4",
                      api_key_env="HARNESS_TEST_UNSET_KEY")
    with pytest.raises(HarnessError, match="HARNESS_TEST_UNSET_KEY"):
        judge_mt_bench(cfg, _questions([81]), _answers({"m": "llama-13b"}, [81]), None,
                       tmp_path / "j.jsonl", progress=False)
    assert loopback.requests == 0


def test_config_validation(judge_key, judge_key_env):
    secret, key_env = judge_key, judge_key_env
    base = dict(base_url="http://127.0.0.1:1/v1", model="gpt-4")
    with pytest.raises(ValidationError):
        JudgeConfig(**base, api_key="x")  # extra="forbid"; the key is never a field
    with pytest.raises(ValidationError) as e:
        JudgeConfig(**base, api_key_env=secret)
    assert secret not in str(e.value)
    with pytest.raises(ValidationError, match="baseline_model"):
        JudgeConfig(**base, mode="pairwise")
    cfg = JudgeConfig(**base, api_key_env=key_env)
    assert (cfg.concurrency, cfg.max_retries, cfg.temperature, cfg.max_tokens, cfg.mode) == \
        (8, 5, 0.0, 2048, "single")
    assert JudgeConfig(**base, api_key_env=None).api_key() == "EMPTY"


def test_no_judge_gives_not_judged():
    samples = load_samples()[:3]
    scores = not_judged_scores(samples, "no judge configured (judge: null in the run config)")
    assert len(scores) == 6
    assert all(s.status == "not_judged" and s.score is None and "no judge" in s.reason
               for s in scores)
    assert {s.metric for s in scores} == {"mt_bench_turn1", "mt_bench_turn2"}
    # judgments missing for a sample are errors, never silently absent
    missing = judgment_scores([], "m", samples)
    assert len(missing) == 6 and all(s.status == "error" for s in missing)
