"""show_result against hand computation and FastChat's own pandas code; the CLI command."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from harness.judge.cli import mt_bench_app
from harness.judge.show_result import pairwise_results, show_result, single_results

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
    mode, table = show_result(f)
    assert mode == "single"
    assert table["a"] == pytest.approx({"turn_1": 7.0, "turn_2": 4.0, "average": 6.0})
    assert table["b"] == pytest.approx({"turn_1": 10.0, "turn_2": 6.0, "average": 22 / 3})
    assert list(table) == ["b", "a"]  # sorted by average, descending


def test_single_equals_fastchat_pandas(tmp_path):
    f = _write(tmp_path / "j.jsonl", _single_rows())
    # fastchat/llm_judge/show_result.py display_result_single, verbatim
    df_all = pd.read_json(f, lines=True)
    df = df_all[["model", "score", "turn"]]
    df = df[df["score"] != -1]
    df_1 = df[df["turn"] == 1].groupby(["model", "turn"]).mean()
    df_2 = df[df["turn"] == 2].groupby(["model", "turn"]).mean()
    df_3 = df[["model", "score"]].groupby(["model"]).mean()
    ours = single_results(json.loads(line) for line in f.read_text().splitlines())
    for m in ("a", "b"):
        assert ours[m]["turn_1"] == pytest.approx(df_1.loc[(m, 1), "score"])
        assert ours[m]["turn_2"] == pytest.approx(df_2.loc[(m, 2), "score"])
        assert ours[m]["average"] == pytest.approx(df_3.loc[m, "score"])


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
    mode, table = show_result(f)
    assert mode == "pairwise"
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
