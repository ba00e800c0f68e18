"""Every malformed fixture in tests/bad_inputs/ gives one line naming its file, line and field."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.data.generic import load_generic
from harness.data.gsm8k import load_gsm8k
from harness.data.hh_rlhf import load_hh_rlhf
from harness.data.rows import RowError
from harness.data.ultrafeedback import load_ultrafeedback
from harness.errors import HarnessError

BAD = Path(__file__).resolve().parents[1] / "bad_inputs"
GENERIC = {"prompt_field": "question", "chosen_field": "good", "rejected_field": "bad"}

# (file, line, field, reason or None for a whole-file error, extra loader options)
CASES: list[tuple[str, int, str, str | None, dict[str, Any]]] = [
    ("hh_bad_json.jsonl", 3, "json", "bad_json", {}),
    ("hh_missing_rejected.jsonl", 2, "rejected", "missing_field", {}),
    ("hh_wrong_type.jsonl", 2, "chosen", "wrong_type", {}),
    ("hh_no_final_assistant.jsonl", 1, "chosen", "no_final_assistant", {}),
    ("hh_prompt_mismatch.jsonl", 2, "rejected", "prompt_mismatch", {}),
    ("hh_empty_answer.jsonl", 3, "rejected", "empty_answer", {}),
    ("hh_text_before_first_turn.jsonl", 1, "chosen", "bad_transcript", {}),
    ("uf_empty_answer.jsonl", 2, "chosen[1].content", "empty_answer", {}),
    ("uf_bad_role.jsonl", 1, "rejected[1].role", "bad_role", {}),
    ("uf_score_not_number.jsonl", 2, "score_chosen", "wrong_type", {}),
    ("uf_prompt_mismatch.jsonl", 1, "rejected", "prompt_mismatch", {}),
    ("uf_prompt_field_differs.jsonl", 1, "prompt", "prompt_mismatch", {}),
    ("uf_not_an_object.jsonl", 2, "json", "wrong_type", {}),
    ("uf_content_not_string.jsonl", 1, "chosen[1].content", "wrong_type", {}),
    ("generic_missing_column.csv", 1, "bad", None, GENERIC),
    ("generic_empty_cell.csv", 5, "good", "empty_answer", GENERIC),
    ("generic_too_few_cells.csv", 3, "bad", "bad_csv", GENERIC),
    ("generic_duplicate_id.jsonl", 3, "uid", "duplicate_id", {**GENERIC, "id_field": "uid"}),
    ("generic_empty_prompt.jsonl", 1, "question", "empty_prompt", GENERIC),
    ("generic_prompt_ends_with_assistant.jsonl", 1, "question", "bad_role", GENERIC),
    ("generic_answer_wrong_type.jsonl", 2, "good", "wrong_type", GENERIC),
    ("generic_not_utf8.jsonl", 2, "json", "bad_encoding", GENERIC),
    ("gsm8k_no_final_answer.jsonl", 2, "answer", "no_final_answer", {"kinds": ["near_miss"]}),
]


def _load(path: Path, **options: Any):
    loader = {"hh": load_hh_rlhf, "uf": load_ultrafeedback, "generic": load_generic,
              "gsm8k": load_gsm8k}
    return loader[path.name.split("_")[0]](path, **options)


def test_every_fixture_is_covered() -> None:
    assert len(CASES) >= 10
    assert {c[0] for c in CASES} == {p.name for p in BAD.iterdir()}


@pytest.mark.parametrize("name,line,field,reason,options", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_line_error(name: str, line: int, field: str, reason: str | None,
                                        options: dict[str, Any]) -> None:
    path = BAD / name
    with pytest.raises(HarnessError) as info:
        _load(path, **options)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: {field}: "), message
    assert name in message
    if reason is not None:
        assert isinstance(info.value, RowError) and info.value.reason == reason


@pytest.mark.parametrize("name,line,field,reason,options",
                         [c for c in CASES if c[3] is not None], ids=[c[0] for c in CASES if c[3]])
def test_skip_bad_rows_records_the_drop(name: str, line: int, field: str, reason: str,
                                        options: dict[str, Any]) -> None:
    try:
        rows, report = _load(BAD / name, skip_bad_rows=True, **options)
    except HarnessError as err:  # the file's only row is the bad one: keeping nothing is an error naming it
        assert (f"every one of the 1 rows read was dropped (1 {reason}); first: line {line}: {field}: "
                in err.one_line())
        return
    summary = report.to_dict()
    assert summary["dropped_by_reason"] == {reason: 1}
    assert summary["dropped_rows"] == {reason: [line]}
    assert summary["rows_kept"] == len(rows) == summary["rows_read"] - 1
    assert summary["dropped_examples"][0].startswith(f"{BAD / name}:{line}: {field}: ")


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="nope.jsonl: file not found"):
        load_hh_rlhf(tmp_path / "nope.jsonl")
