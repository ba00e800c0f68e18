"""The generic JSONL/CSV loader with renamed fields, and the skip_bad_rows report."""
from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from harness.data.generic import load_generic
from harness.errors import HarnessError

PAIRS = [
    {"uid": "q1", "question": "What is 2+2?", "good": "4", "bad": "5"},
    {"uid": "q2", "question": "Name a colour,\nplease.", "good": "Blue, \"sky\" blue.", "bad": "7"},
    {"uid": "q3", "question": "Capital of France?", "good": "Paris", "bad": "Lyon"},
]
FIELDS = {"prompt_field": "question", "chosen_field": "good", "rejected_field": "bad",
          "id_field": "uid"}


def _write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _write_csv(path: Path, records: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return path


def test_renamed_fields_from_csv_and_jsonl_agree(tmp_path: Path) -> None:
    from_jsonl, _ = load_generic(_write_jsonl(tmp_path / "p.jsonl", PAIRS), source="mine", **FIELDS)
    from_csv, report = load_generic(_write_csv(tmp_path / "p.csv", PAIRS), source="mine", **FIELDS)
    assert from_csv == from_jsonl
    assert from_csv[1] == {"id": "q2", "source": "mine",
                           "prompt": [{"role": "user", "content": "Name a colour,\nplease."}],
                           "chosen": [{"role": "assistant", "content": "Blue, \"sky\" blue."}],
                           "rejected": [{"role": "assistant", "content": "7"}]}
    assert report.format == "csv" and report.rows_read == 3


def test_csv_line_numbers_follow_multiline_cells_and_gzip(tmp_path: Path) -> None:
    bad = PAIRS + [{"uid": "q4", "question": "Empty?", "good": "", "bad": "x"}]
    plain = _write_csv(tmp_path / "p.csv", bad)
    packed = tmp_path / "p.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, packed):
        rows, report = load_generic(path, skip_bad_rows=True, **FIELDS)
        assert [r["id"] for r in rows] == ["q1", "q2", "q3"]
        assert report.to_dict()["dropped_rows"] == {"empty_answer": [6]}  # q2 spans lines 3-4


def test_message_lists_and_implicit_prompt(tmp_path: Path) -> None:
    convo = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
             {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye?"}]
    records = [{"c": convo + [{"role": "assistant", "content": "Bye!"}],
                "r": convo + [{"role": "assistant", "content": "No."}]}]
    path = _write_jsonl(tmp_path / "conv.jsonl", records)
    rows, _ = load_generic(path, prompt_field=None, chosen_field="c", rejected_field="r")
    assert rows[0]["prompt"] == convo and rows[0]["id"] == "conv:1"
    assert rows[0]["chosen"] == [{"role": "assistant", "content": "Bye!"}]
    explicit = [{"p": convo, "c": "Bye!", "r": [{"role": "assistant", "content": "No."}]}]
    rows2, _ = load_generic(_write_jsonl(tmp_path / "conv.jsonl", explicit),
                            prompt_field="p", chosen_field="c", rejected_field="r")
    assert rows2 == rows


def test_csv_json_cells(tmp_path: Path) -> None:
    prompt = [{"role": "user", "content": "Hi"}]
    path = _write_csv(tmp_path / "m.csv", [{"prompt": json.dumps(prompt), "chosen": "Hello",
                                            "rejected": "[not json"}])
    rows, _ = load_generic(path)
    assert rows[0]["prompt"] == [{"role": "user", "content": json.dumps(prompt)}]  # text by default
    with pytest.raises(HarnessError, match=r"m\.csv:2: rejected: malformed JSON in cell"):
        load_generic(path, csv_json_cells=True)


def test_skip_bad_rows_report_contents(tmp_path: Path) -> None:
    good = {"prompt": "Q", "chosen": "yes", "rejected": "no"}
    records = [good, {"prompt": "Q", "chosen": "same", "rejected": "same"},
               {"prompt": "Q", "chosen": "  ", "rejected": "no"}, {"prompt": "Q", "rejected": "no"},
               {"prompt": "Q", "chosen": 3, "rejected": "no"}, {**good, "chosen": "longer answer"}]
    path = _write_jsonl(tmp_path / "mixed.jsonl", records)
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n{broken\n")
    rows, report = load_generic(path, skip_bad_rows=True)
    summary = report.to_dict()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["rows_read"] == 7 and summary["rows_kept"] == len(rows) == 3
    assert summary["rows_dropped"] == 4
    assert summary["dropped_by_reason"] == {"bad_json": 1, "empty_answer": 1, "missing_field": 1,
                                            "wrong_type": 1}
    assert summary["dropped_rows"] == {"bad_json": [8], "empty_answer": [3], "missing_field": [4],
                                       "wrong_type": [5]}
    assert [e.split(": ")[0:2] for e in summary["dropped_examples"]] == [
        [f"{path}:3", "chosen"], [f"{path}:4", "chosen"], [f"{path}:5", "chosen"], [f"{path}:8", "json"]]
    assert summary["flags"] == {"identical_answers": 1}
    assert summary["lengths"]["chosen_chars"] == {"mean": 6.7, "median": 4, "max": 13}
    assert summary["lengths"]["prompt_chars"] == {"mean": 1.0, "median": 1, "max": 1}
    assert summary["options"]["skip_bad_rows"] is True
    dropped, report = load_generic(path, skip_bad_rows=True, drop_identical=True, limit=3)
    assert [r["id"] for r in dropped] == ["mixed:1"]
    assert report.to_dict()["dropped_rows"] == {"empty_answer": [3], "identical_answers": [2]}


def test_empty_report_and_offset_past_end(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "x.jsonl", [{"prompt": "Q", "chosen": "a", "rejected": "b"}])
    rows, report = load_generic(path, offset=5)
    assert rows == [] and report.rows_read == 0
    assert report.to_dict()["lengths"]["prompt_chars"] == {"mean": 0.0, "median": 0.0, "max": 0}


@pytest.mark.parametrize("window", [{"offset": -1}, {"limit": -2}, {"limit": 1.5}])
def test_bad_window_is_a_harness_error(window: dict, tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "x.jsonl", [{"prompt": "Q", "chosen": "a", "rejected": "b"}])
    with pytest.raises(HarnessError, match=f"{next(iter(window))}: must be a non-negative integer"):
        load_generic(path, **window)


def test_a_format_the_loader_does_not_read_is_named_with_what_it_reads(tmp_path):
    from harness.data.files import detect_format
    path = tmp_path / "pairs.parquet"
    path.write_bytes(b"")
    with pytest.raises(HarnessError) as exc:
        load_generic(path)
    assert exc.value.one_line() == (f"{path}: cannot tell the format from the path: expected .jsonl, .jsonl.gz, "
                                    ".csv or .csv.gz")
    assert detect_format(path, ("jsonl", "parquet")) == "parquet"
    with pytest.raises(HarnessError, match=r"expected \.jsonl, \.jsonl\.gz or a folder written by"):
        detect_format(tmp_path / "pairs.csv", ("jsonl", "save_to_disk"))
