"""`harness mt-bench` says what happened: the money a call spent (nothing on a cached rerun), a
prompt repeated within one batch is counted as sent once (not as cached), a cost with no price
is unknown (not "$0.00"); and bad input is one line naming the option, file, row or field, exit 2,
before any request (a dry run needs no endpoint). In process, against the loopback judge."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from loopback_judge import LoopbackJudge
from typer.testing import CliRunner

from harness.mt_bench.cli import mt_bench_app

REPO = Path(__file__).resolve().parents[2]
ANSWERS = REPO / "tasks/data/mt_bench/model_answer"
QIDS = (81, 101)  # writing, reasoning (reference-guided): 2 questions x 2 turns


@pytest.fixture
def questions(tmp_path) -> Path:
    rows = [json.loads(x) for x in (REPO / "tasks/data/mt_bench/question.jsonl").read_text().splitlines()]
    path = tmp_path / "question.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows if r["question_id"] in QIDS))
    return path


@pytest.fixture
def twins(tmp_path) -> list[str]:
    """Two models with the same answers: every single-grading prompt is asked twice in one batch."""
    copy = tmp_path / "llama-copy.jsonl.gz"
    shutil.copy(ANSWERS / "llama-13b.jsonl.gz", copy)
    return [str(ANSWERS / "llama-13b.jsonl.gz"), str(copy)]


def _invoke(*args: str):
    return CliRunner().invoke(mt_bench_app, list(args))


def _error_line(result) -> str:
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_dry_run_needs_no_endpoint_and_counts_repeats_apart(twins, questions, tmp_path):
    res = _invoke("judge", *twins, "--questions", str(questions), "--out", str(tmp_path / "j.jsonl"),
                  "--dry-run")
    assert res.exit_code == 0, res.output
    # 4 judgments per model; the twin's 4 prompts are llama's: sent once, not "already cached"
    assert ("dry run: 8 judgments: 4 requests to send (0 already cached, 4 repeated prompts asked once)"
            in res.output), res.output
    assert "cost unknown (no --cost-per-1k-input/--cost-per-1k-output given)" in res.output
    assert "$0.00" not in res.output


def test_spent_is_what_requests_cost_and_nothing_when_cached(twins, questions, tmp_path):
    out = tmp_path / "j.jsonl"
    with LoopbackJudge() as srv:
        args = ["judge", *twins, "--base-url", srv.base_url, "--api-key-env", "", "--questions", str(questions),
                "--out", str(out), "--cost-per-1k-input", "1.0"]
        first = _invoke(*args)
        assert first.exit_code == 0, first.output
        sent = srv.requests
        paid = sum(e["cost_usd"] for e in map(json.loads, (tmp_path / "j.cache.jsonl").read_text().splitlines()))
        assert sent == 4 and paid > 0  # one request per distinct prompt
        assert f"${paid:.4f} spent" in first.output, first.output
        again = _invoke(*args)
        assert again.exit_code == 0, again.output
        assert srv.requests == sent
        assert "8 judged (8 without a new request), 0 failed" in again.output
        assert "nothing spent (no request sent)" in again.output, again.output
        assert "0 requests to send (8 already cached), about 0 prompt tokens, nothing to pay" in again.output
        (tmp_path / "j.cache.jsonl").unlink()  # asked again, with no price: the cost is unknown, not $0
        unpriced = _invoke(*args[:-2])
        assert "cost unknown (no --cost-per-1k-input" in unpriced.output
        assert "cost unknown (no prices given)" in unpriced.output and "$" not in unpriced.output


def test_bad_options_one_line(twins, questions, tmp_path):
    base = ["judge", twins[0], "--questions", str(questions), "--out", str(tmp_path / "j.jsonl")]
    line = _error_line(_invoke(*base))
    assert line == "error: --base-url/--serve: give --base-url (an endpoint) or --serve (a local judge model), one of them"
    line = _error_line(_invoke(*base, "--base-url", "htp:/x"))
    assert line.startswith("error: --base-url: must be an http:// or https:// URL")
    line = _error_line(_invoke(*base, "--base-url", "http://127.0.0.1:1/v1", "--max-cost", "1"))
    assert "--max-cost: a budget needs prices" in line
    line = _error_line(_invoke(*base, "--base-url", "http://127.0.0.1:1/v1", "--mode", "pairwise-baseline"))
    assert "--baseline-model: --mode pairwise-baseline needs --baseline-model" in line
    line = _error_line(_invoke(*base, "--dry-run", "--concurrency", "0"))
    assert line.startswith("error: --concurrency: input should be greater than or equal to 1")


@pytest.mark.parametrize("content, expected", [
    (None, "llama-13b.jsonl.gz:1: model: missing field (this is a model_answer file"),  # a model_answer file
    ('{"a": 1}\n', "j.jsonl:1: question_id: missing field (not a single judgment file)"),
    ('{"question_id": 1, "model": "m", "score": "high", "turn": 1}\n', "j.jsonl:1: score: expected a number"),
    ('[1, 2]\n', "j.jsonl:1: expected a JSON object, got list"),
    ('', "j.jsonl: no judgment records: the file is empty"),
    ("folder", "is a folder, not a judgment file"),
])
def test_show_result_and_agreement_on_files_that_are_not_judgments(tmp_path, content, expected):
    if content is None:
        path = ANSWERS / "llama-13b.jsonl.gz"
    elif content == "folder":
        path = tmp_path
    else:
        path = tmp_path / "j.jsonl"
        path.write_text(content)
    assert expected in _error_line(_invoke("show-result", "--judgment-file", str(path)))
    assert expected in _error_line(_invoke("agreement", str(path), str(path)))
