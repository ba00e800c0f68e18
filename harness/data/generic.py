"""Any preference file in JSONL or CSV, with the field names given by the user.

So a user's own data needs no conversion script: name the prompt, chosen, rejected (and
optionally id) fields. Values may be plain strings (the prompt becomes one user message, each
answer one assistant message) or message lists; answers given as full conversations carry
their own prompt (``prompt_field=None``), checked like UltraFeedback's. CSV cells are text;
with ``csv_json_cells=True`` a cell starting with ``[`` is parsed as a JSON message list.
Rows without an id field get ``<file stem>:<line>``, which points back at the source line.
The JSONL and CSV readers here are shared by the other loaders.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
from pathlib import Path
from typing import Any, Iterator

from harness.data.rows import (LoadReport, LoadResult, Where, as_messages, collect, file_stem,
                               fingerprint, get_field, make_pair, pair_row, require_file)
from harness.errors import HarnessError

_CSV_FIELD_LIMIT = 1 << 30  # the default (128 KiB) is shorter than some long answers


def detect_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz")):
        return "jsonl"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    raise HarnessError("cannot tell the format from the path: expected .jsonl, .jsonl.gz, "
                       ".csv or .csv.gz", file=path)


def read_jsonl(path: Path, *, offset: int = 0, limit: int | None = None
               ) -> Iterator[tuple[int, Any]]:
    """Yield ``(line, object)`` for the non-blank lines in [offset, offset+limit).

    A line that is not valid UTF-8 JSON is yielded as a RowError, not raised, so the caller
    decides whether it is fatal. Read as bytes so one bad line cannot hide its line number.
    """
    require_file(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    seen = line_no = 0
    try:
        with opener(path, "rb") as f:
            for line_no, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                seen += 1
                if seen <= offset:
                    continue
                if limit is not None and seen > offset + limit:
                    break
                where = Where(str(path), line_no)
                try:
                    text = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
                    yield line_no, json.loads(text)
                except UnicodeDecodeError as exc:
                    yield line_no, where.fail("bad_encoding", "json", f"not UTF-8 ({exc.reason})")
                except json.JSONDecodeError as exc:
                    yield line_no, where.fail("bad_json", "json",
                                              f"malformed JSON ({exc.msg} at column {exc.colno})")
    except (OSError, EOFError) as exc:  # a truncated or corrupt .gz stops the whole file
        raise HarnessError(f"cannot read file ({exc})", file=path, row=line_no + 1) from None


def read_csv(path: Path, required: list[str], *, offset: int = 0, limit: int | None = None
             ) -> Iterator[tuple[int, Any]]:
    """Yield ``(first line of the record, {column: cell})``; line 1 is the header.

    A missing required column is a file error (every row would fail); a record with the wrong
    number of cells is yielded as a row error.
    """
    require_file(path)
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")
    line = 0
    try:
        with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise HarnessError("empty CSV file (no header)", file=path, row=1)
            missing = [c for c in required if c not in header]
            if missing:
                raise HarnessError(f"column missing from the CSV header (have: {', '.join(header)})",
                                   file=path, row=1, field=missing[0])
            seen = 0
            while True:
                line = reader.line_num + 1
                cells = next(reader, None)
                if cells is None:
                    return
                if not cells or not any(c.strip() for c in cells):
                    continue
                seen += 1
                if seen <= offset:
                    continue
                if limit is not None and seen > offset + limit:
                    return
                if len(cells) != len(header):
                    where = Where(str(path), line)
                    field = header[len(cells)] if len(cells) < len(header) else "csv"
                    yield line, where.fail("bad_csv", field, f"{len(cells)} cells, the header "
                                                             f"has {len(header)} columns")
                    continue
                yield line, dict(zip(header, cells))
    except (csv.Error, UnicodeDecodeError, OSError, EOFError) as exc:
        raise HarnessError(f"cannot read CSV ({exc})", file=path, row=line or None) from None


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
    fmt = detect_format(path)
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
