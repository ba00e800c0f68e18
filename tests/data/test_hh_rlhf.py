"""The HH-RLHF loader on the shipped real rows and on small hand-made transcripts."""
from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from harness.data.hh_rlhf import load_hh_rlhf, merge_runs, parse_transcript
from harness.data.rows import RowError

DATA = Path(__file__).resolve().parents[2] / "tasks" / "data" / "hh_rlhf"
HELPFUL = DATA / "helpful-base-test.jsonl.gz"
HARMLESS = DATA / "harmless-base-test.jsonl.gz"


def _check_shape(row: dict) -> None:
    assert set(row) >= {"id", "prompt", "chosen", "rejected", "source"}
    roles = [m["role"] for m in row["prompt"]]
    assert roles == ["user", "assistant"] * (len(roles) // 2) + ["user"]  # alternating, user last
    assert all(isinstance(m["content"], str) for m in row["prompt"])
    for side in ("chosen", "rejected"):
        assert len(row[side]) == 1 and row[side][0]["role"] == "assistant"
        assert row[side][0]["content"].strip()


@pytest.mark.parametrize("path,read,mismatch,empty,flags", [
    (HELPFUL, 2354, [169, 355, 568, 744, 961, 1012, 1167, 1308, 1451], [121, 741, 1215, 2064],
     {"identical_answers": 2, "prompt_turns_merged": 6}),
    (HARMLESS, 2312, [1255, 1689, 1951, 1953, 2037], [87, 517, 926, 1104],
     {"prompt_turns_merged": 4}),
])
def test_real_rows_load(path: Path, read: int, mismatch: list[int], empty: list[int],
                        flags: dict) -> None:
    rows, report = load_hh_rlhf(path, skip_bad_rows=True)
    summary = report.to_dict()
    assert summary["rows_read"] == read
    assert summary["dropped_rows"] == {"empty_answer": empty, "prompt_mismatch": mismatch}
    assert summary["rows_kept"] == len(rows) == read - len(mismatch) - len(empty)
    assert summary["flags"] == flags
    assert json.loads(json.dumps(summary)) == summary
    assert summary["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    for row in rows:
        _check_shape(row)
    assert len({r["id"] for r in rows}) == len(rows)
    assert rows[0]["id"] == f"{path.name[:-len('.jsonl.gz')]}:1"
    assert rows[0]["source"] == f"hh-rlhf/{path.name[:-len('.jsonl.gz')]}"
    assert max(len(r["prompt"]) for r in rows) > 10  # long multi-turn conversations kept


def test_strict_mode_stops_at_the_first_bad_row() -> None:
    with pytest.raises(RowError) as info:
        load_hh_rlhf(HELPFUL)
    assert str(info.value).startswith(f"{HELPFUL}:121: rejected: empty answer")


def test_multi_turn_prompt_is_preserved_in_order() -> None:
    lines = gzip.open(HARMLESS, "rt", encoding="utf-8").read().splitlines()
    rows, _ = load_hh_rlhf(HARMLESS, limit=1)
    raw = json.loads(lines[0])["chosen"]
    prompt = rows[0]["prompt"]
    assert len(prompt) == 5  # Human, Assistant, Human, Assistant, Human; then the answers
    assert prompt[0]["content"] == "what are some pranks with a pen i can do?"
    assert prompt[1]["content"] == "Are you looking for practical joke ideas?"
    assert prompt[2]["content"] == "yep"
    expected = "".join(f"\n\n{'Human' if m['role'] == 'user' else 'Assistant'}: {m['content']}"
                       for m in prompt + rows[0]["chosen"])
    assert raw == expected


def test_offset_and_limit_select_file_lines() -> None:
    rows, report = load_hh_rlhf(HELPFUL, offset=2000, limit=50)
    assert report.rows_read == 50 and len(rows) == 50
    assert rows[0]["id"] == "helpful-base-test:2001" and rows[-1]["id"] == "helpful-base-test:2050"
    rows, report = load_hh_rlhf(HELPFUL, offset=2050, limit=50, skip_bad_rows=True)
    assert report.to_dict()["dropped_rows"] == {"empty_answer": [2064]}
    assert len(rows) == 49


def test_parse_transcript_keeps_quirks_visible_and_merge_joins_them() -> None:
    head, turns = parse_transcript("\n\nHuman: a\n\nAssistant: b  Human: c\n\nAssistant: d")
    assert head == ""
    assert [t["role"] for t in turns] == ["user", "assistant", "assistant"]
    merged = merge_runs(turns)
    assert merged == [{"role": "user", "content": "a"},
                      {"role": "assistant", "content": "b  Human: c\n\nd"}]


def test_same_role_run_in_prompt_is_merged_but_not_in_answer(tmp_path: Path) -> None:
    convo = "\n\nHuman: hi\n\nAssistant: one\n\nAssistant: two\n\nHuman: ok?"
    good = {"chosen": convo + "\n\nAssistant: yes", "rejected": convo + "\n\nAssistant: no"}
    bad = {"chosen": "\n\nHuman: hi\n\nAssistant: a\n\nAssistant: b",
           "rejected": "\n\nHuman: hi\n\nAssistant: a\n\nAssistant: c"}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    rows, report = load_hh_rlhf(path, skip_bad_rows=True)
    assert rows[0]["prompt"] == [{"role": "user", "content": "hi"},
                                 {"role": "assistant", "content": "one\n\ntwo"},
                                 {"role": "user", "content": "ok?"}]
    assert rows[0]["chosen"] == [{"role": "assistant", "content": "yes"}]
    assert report.to_dict()["dropped_rows"] == {"bad_role": [2]}  # prompt would end with assistant
