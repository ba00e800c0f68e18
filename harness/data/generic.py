"""Any preference file in JSONL or CSV, with the field names given by the user.

So a user's own data needs no conversion script: name the prompt, chosen, rejected (and
optionally id) fields. Values may be plain strings (the prompt becomes one user message, each
answer one assistant message) or message lists; answers given as full conversations carry
their own prompt (``prompt_field=None``), checked like UltraFeedback's. CSV cells are text;
with ``csv_json_cells=True`` a cell starting with ``[`` is parsed as a JSON message list.
Rows without an id field get ``<file stem>:<line>``, which points back at the source line.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.data.files import detect_format, file_stem, fingerprint, read_csv, read_jsonl
from harness.data.rows import LoadReport, LoadResult, Where, as_messages, collect, get_field, make_pair, pair_row


def _value(record: Any, field: str, where: Where, json_cells: bool) -> Any:
    value = get_field(record, field, where)
    if json_cells and isinstance(value, str) and value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise where.fail("bad_json", field, f"malformed JSON in cell ({exc.msg})") from None
    return value


def load_generic(path: str | os.PathLike, *, prompt_field: str | None = "prompt",
                 chosen_field: str = "chosen", rejected_field: str = "rejected",
                 id_field: str | None = None, skip_bad_rows: bool = False,
                 drop_identical: bool = False, limit: int | None = None, offset: int = 0,
                 source: str | None = None, csv_json_cells: bool = False) -> LoadResult:
    """Load preference pairs from JSONL(.gz) or CSV(.gz) with configurable field names.

    ``prompt_field=None``: the prompt is the conversation before each final answer (answers
    must then be message lists). ``offset``/``limit`` select non-blank records before
    validation. Ids from ``id_field`` must be unique non-empty strings or integers.
    """
    path = Path(path)
    fmt = detect_format(path, ("jsonl", "csv"))
    stem = file_stem(path)
    source = source or stem
    fields = [f for f in (prompt_field, chosen_field, rejected_field, id_field) if f]
    report = LoadReport(file=str(path), format=fmt, source=source, sha256=fingerprint(path),
                        options={"prompt_field": prompt_field, "chosen_field": chosen_field,
                                 "rejected_field": rejected_field, "id_field": id_field,
                                 "skip_bad_rows": skip_bad_rows, "drop_identical": drop_identical,
                                 "limit": limit, "offset": offset, "csv_json_cells": csv_json_cells})
    json_cells = csv_json_cells and fmt == "csv"

    def build(where: Where, record: Any) -> dict:
        text: set[str] = set()
        answers = []
        for field in (chosen_field, rejected_field):
            value = _value(record, field, where, json_cells)
            if isinstance(value, str):
                text.add(field)
            answers.append(as_messages(value, field, where, default_role="assistant"))
        prompt = None
        if prompt_field:
            value = _value(record, prompt_field, where, json_cells)
            prompt = value if isinstance(value, str) else as_messages(value, prompt_field, where,
                                                                       default_role="user")
        p, c, r = make_pair(where, prompt, answers[0], answers[1],
                            names=(prompt_field or chosen_field, chosen_field, rejected_field),
                            text_fields=frozenset(text))
        if id_field:
            row_id = get_field(record, id_field, where)
            if isinstance(row_id, bool) or not isinstance(row_id, (str, int)) or row_id == "":
                raise where.fail("wrong_type", id_field,
                                 f"expected a non-empty string or integer id, got {row_id!r}")
            row_id = str(row_id)
        else:
            row_id = f"{stem}:{where.row}"
        return pair_row(row_id, source, p, c, r)

    records = (read_jsonl(path, offset=offset, limit=limit) if fmt == "jsonl"
               else read_csv(path, fields, offset=offset, limit=limit))
    rows = collect(records, build, report, skip_bad_rows=skip_bad_rows,
                   id_field=id_field or "id", drop_identical=drop_identical)
    return LoadResult(rows, report)
