"""The UltraFeedback loader: shipped rows, score ties, and Parquet / save_to_disk round trips."""
from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from harness.data.files import detect_format
from harness.data.ultrafeedback import load_ultrafeedback
from harness.errors import HarnessError

DATA = Path(__file__).resolve().parents[2] / "tasks" / "data" / "ultrafeedback"
FIRST500 = DATA / "uf_binarized_test_prefs_first500.jsonl.gz"
FULL16 = DATA / "uf_binarized_fixture16_fullschema.jsonl.gz"


def _raw(path: Path) -> list[dict]:
    return [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]


def _check_shape(row: dict) -> None:
    assert row["prompt"] == [{"role": "user", "content": row["prompt"][0]["content"]}]
    assert row["id"] == row["prompt_id"]
    assert row["id"] == hashlib.sha256(row["prompt"][0]["content"].encode()).hexdigest()
    for side in ("chosen", "rejected"):
        assert len(row[side]) == 1 and row[side][0]["role"] == "assistant"
        assert row[side][0]["content"].strip()


def test_first500_loads() -> None:
    rows, report = load_ultrafeedback(FIRST500, skip_bad_rows=True)
    summary = report.to_dict()
    assert summary["rows_read"] == 500 and summary["rows_kept"] == len(rows) == 498
    assert summary["dropped_rows"] == {"empty_answer": [190, 469]}
    assert summary["flags"] == {"identical_answers": 11}
    assert summary["lengths"]["prompt_messages"] == {"mean": 1.0, "median": 1, "max": 1}
    for row in rows:
        _check_shape(row)
        assert "score_chosen" not in row
    raw = _raw(FIRST500)
    assert rows[0]["prompt"][0]["content"] == raw[0]["chosen"][0]["content"]
    assert rows[0]["chosen"][0] == raw[0]["chosen"][1]
    assert rows[0]["rejected"][0] == raw[0]["rejected"][1]
    rows, report = load_ultrafeedback(FIRST500, skip_bad_rows=True, drop_identical=True)
    assert len(rows) == 487 and report.to_dict()["dropped_by_reason"]["identical_answers"] == 11


def test_first500_strict_names_the_empty_answer() -> None:
    with pytest.raises(HarnessError, match=r"first500\.jsonl\.gz:190: chosen\[1\]\.content: empty"):
        load_ultrafeedback(FIRST500)


def test_full_schema_rows_and_ties() -> None:
    rows, report = load_ultrafeedback(FULL16)
    assert len(rows) == 16 and report.flags == {"score_ties": 4}
    raw = _raw(FULL16)
    for row, rec in zip(rows, raw):
        _check_shape(row)
        assert row["prompt_id"] == rec["prompt_id"]
        assert (row["score_chosen"], row["score_rejected"]) == (rec["score_chosen"], rec["score_rejected"])
    kept, report = load_ultrafeedback(FULL16, drop_ties=True)
    assert len(kept) == 12 and all(r["score_chosen"] != r["score_rejected"] for r in kept)
    assert report.to_dict()["dropped_by_reason"] == {"score_tie": 4}
    assert len(report.to_dict()["dropped_rows"]["score_tie"]) == 4


def _write_both(records: list[dict], tmp_path: Path) -> tuple[Path, Path]:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = tmp_path / "uf.parquet"
    pq.write_table(pa.Table.from_pylist(records), parquet)
    saved = tmp_path / "uf_saved"
    datasets.Dataset.from_list(records).save_to_disk(str(saved))
    return parquet, saved


@pytest.mark.parametrize("source", [FULL16, FIRST500])
def test_parquet_and_save_to_disk_load_like_jsonl(source: Path, tmp_path: Path) -> None:
    records = _raw(source)[:40]
    parquet, saved = _write_both(records, tmp_path)
    expected, exp_report = load_ultrafeedback(source, limit=40, skip_bad_rows=True, source="uf")
    for path, fmt in ((parquet, "parquet"), (saved, "save_to_disk")):
        assert detect_format(path, ("jsonl", "parquet", "save_to_disk")) == fmt
        rows, report = load_ultrafeedback(path, skip_bad_rows=True, source="uf")
        assert rows == expected
        assert report.to_dict()["lengths"] == exp_report.to_dict()["lengths"]
        assert report.row_unit == "record" and len(report.sha256) == 64
        part, _ = load_ultrafeedback(path, offset=3, limit=5, source="uf")
        assert part == expected[3:8]


def test_saved_dataset_dict_needs_a_split(tmp_path: Path) -> None:
    import datasets

    records = _raw(FULL16)
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_list(records[:10]),
                               "test": datasets.Dataset.from_list(records[10:])})
    dd.save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(HarnessError, match="split: choose a split"):
        load_ultrafeedback(tmp_path / "dd")
    rows, _ = load_ultrafeedback(tmp_path / "dd", split="test")
    assert len(rows) == 6


def test_unknown_format_and_plain_folder(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="cannot tell the format"):
        load_ultrafeedback(tmp_path / "uf.json")
    with pytest.raises(HarnessError, match="not a folder written by Dataset.save_to_disk"):
        load_ultrafeedback(tmp_path)
