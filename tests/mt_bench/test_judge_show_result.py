"""show_result against hand computation and FastChat's own show_result (fschat); the CLI command."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.mt_bench.cli import mt_bench_app
from harness.mt_bench.show_result import pairwise_results, show_result, single_results

J = ["gpt-4", "single-v1"]


def _single_rows():
    rows = []
    # model a: turn 1 -> 8, 6, (-1 dropped); turn 2 -> 4
    # model b: turn 1 -> 10; turn 2 -> (-1 dropped), 5, 7
    for qid, model, turn, score in [(1, "a", 1, 8), (2, "a", 1, 6), (3, "a", 1, -1),
                                    (1, "a", 2, 4), (1, "b", 1, 10), (1, "b", 2, -1),
                                    (2, "b", 2, 5), (3, "b", 2, 7.0)]:
        rows.append({"question_id": qid, "model": model, "judge": J, "user_prompt": "u",
                     "judgment": f"[[{score}]]", "score": score, "turn": turn, "tstamp": 0.0,
                     "status": "ok" if score != -1 else "error"})
    return rows


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_single_by_hand(tmp_path):
    f = _write(tmp_path / "j.jsonl", _single_rows())
    mode, table, _ = show_result(f)
    assert mode == "single"
    assert table["a"] == pytest.approx({"turn_1": 7.0, "turn_2": 4.0, "average": 6.0})
    assert table["b"] == pytest.approx({"turn_1": 10.0, "turn_2": 6.0, "average": 22 / 3})
    assert list(table) == ["b", "a"]  # sorted by average, descending


def fastchat_single(path: Path) -> dict[str, dict[str, float]]:
    """FastChat's own show_result (fschat's display_result_single), its printed tables parsed."""
    import argparse
    import contextlib
    import io

    from fastchat.llm_judge.show_result import display_result_single
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        display_result_single(argparse.Namespace(input_file=str(path), model_list=None, bench_name="mt_bench",
                                                 judge_model="gpt-4"))
    out: dict[str, dict[str, float]] = {}
    section = None
    for line in buf.getvalue().splitlines():
        for name, key in (("First turn", "turn_1"), ("Second turn", "turn_2"), ("Average", "average")):
            if name in line:
                section = key
        parts = line.split()
        if section and len(parts) >= 2 and parts[0] not in ("model", "score", "turn"):
            try:
                out.setdefault(parts[0], {})[section] = float(parts[-1])
            except ValueError:
                continue
    return out


def test_single_equals_fastchat(tmp_path):
    f = _write(tmp_path / "j.jsonl", _single_rows())
    ours = single_results(json.loads(line) for line in f.read_text().splitlines())
    theirs = fastchat_single(f)
    for m in ("a", "b"):
        assert ours[m] == pytest.approx(theirs[m], abs=1e-5)


PUBLISHED = Path(__file__).resolve().parents[2] / "tasks/data/mt_bench_published/model_judgment/gpt-4_single.jsonl.gz"


def test_published_file_with_duplicates_equals_fastchat():
    """The published GPT-4 judgments hold two judging passes of mistral-orpo under one name:
    FastChat averages every row (5.86 average), and so does show-result by default."""
    mode, ours, duplicates = show_result(PUBLISHED)
    theirs = fastchat_single(PUBLISHED)
    assert mode == "single" and duplicates == 160 and set(ours) == set(theirs) and len(ours) == 4
    for model in ours:  # FastChat prints 6 significant digits
        for key in ("turn_1", "turn_2", "average"):
            assert ours[model][key] == pytest.approx(theirs[model][key], abs=5e-6)
    assert round(ours["mistral-orpo"]["average"], 2) == 5.86
    _, last, _ = show_result(PUBLISHED, keep_last=True)
    assert last["mistral-orpo"]["average"] != pytest.approx(ours["mistral-orpo"]["average"])
    assert last["mistral-orpo-mix"] == pytest.approx(ours["mistral-orpo-mix"])  # no duplicates there


def test_cli_says_when_a_file_holds_duplicates():
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "mt-bench", "show-result", "--judgment-file",
                           str(PUBLISHED), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "160 duplicate judgments" in proc.stderr and "as FastChat does" in proc.stderr
    assert round(json.loads(proc.stdout)["mistral-orpo"]["average"], 2) == 5.86


def _pair(qid, m1, g1, g2, turn=1):
    return {"question_id": qid, "model_1": m1, "model_2": "base", "g1_winner": g1,
            "g2_winner": g2, "judge": ["gpt-4", "pair-v2"], "g1_judgment": "", "g2_judgment": "",
            "turn": turn, "tstamp": 0.0}


def test_pairwise_by_hand(tmp_path):
    rows = [_pair(1, "x", "model_1", "model_1"),   # x wins
            _pair(2, "x", "model_2", "model_2"),   # x loses
            _pair(3, "x", "tie", "tie"),           # tie
            _pair(4, "x", "model_1", "model_2"),   # inconsistent -> tie
            _pair(5, "x", "error", "model_1"),     # dropped
            _pair(6, "x", "model_2", "tie"),       # inconsistent -> tie
            _pair(1, "y", "model_1", "model_1")]   # y wins
    f = _write(tmp_path / "p.jsonl", rows)
    mode, table, duplicates = show_result(f)
    assert mode == "pairwise" and duplicates == 0
    assert table["x"] == pytest.approx({"win": 1, "loss": 1, "tie": 3, "win_rate": 0.2,
                                        "loss_rate": 0.2, "win_rate_adjusted": 0.5})
    assert table["y"] == pytest.approx({"win": 1, "loss": 0, "tie": 0, "win_rate": 1.0,
                                        "loss_rate": 0.0, "win_rate_adjusted": 1.0})
    assert "base" not in table and list(table) == ["y", "x"]
    assert pairwise_results(rows, baseline_model="base") == table


def test_cli_json_and_table(tmp_path):
    f = _write(tmp_path / "j.jsonl", _single_rows())
    runner = CliRunner()
    r = runner.invoke(mt_bench_app, ["show-result", "--judgment-file", str(f), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["a"] == {"turn_1": 7.0, "turn_2": 4.0, "average": 6.0}
    r = runner.invoke(mt_bench_app, ["show-result", "--judgment-file", str(f), "--mode", "single"])
    assert r.exit_code == 0 and "6.0000" in r.output
    p = _write(tmp_path / "p.jsonl", [_pair(1, "x", "model_1", "model_1")])
    r = runner.invoke(mt_bench_app, ["show-result", "--judgment-file", str(p), "--mode",
                                     "pairwise", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["x"]["win"] == 1
    r = runner.invoke(mt_bench_app, ["show-result", "--judgment-file", str(tmp_path / "no")])
    assert r.exit_code == 2


def test_position_bias_counts_verdicts_that_flip_with_the_order(tmp_path):
    from harness.mt_bench.show_result import position_flips
    rows = [_pair(1, "x", "model_1", "model_1"), _pair(2, "x", "model_1", "model_2"),
            _pair(3, "x", "tie", "tie"), _pair(4, "x", "tie", "model_2"), _pair(5, "x", "error", "model_1")]
    assert position_flips(rows) == {"comparisons": 4, "flips": 2, "flip_rate": 0.5}
    import subprocess
    import sys
    f = _write(tmp_path / "p.jsonl", rows)
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "mt-bench", "show-result", "--judgment-file", str(f)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "changed with the answers' order in 2 of 4 comparisons (50.0%)" in proc.stderr
