"""Preference data files: the format from the path, and readers that yield ``(row number, record)``
for the loaders (harness.data). A record that cannot be decoded is yielded as a RowError, not
raised, so the loader decides whether it is fatal (``skip_bad_rows``); a file that cannot be read
at all is one HarnessError.

Row numbers are file lines for JSONL and CSV (the first line of a record; line 1 is a CSV's
header), and 1-based record numbers for Parquet and ``save_to_disk`` folders.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any, Iterator

from harness.data.rows import Where
from harness.errors import HarnessError
from harness.store import digest_path

_CSV_FIELD_LIMIT = 1 << 30  # the default (128 KiB) is shorter than some long answers
#: how a path's ending names its format (a folder is a ``save_to_disk`` dataset)
FORMAT_ENDINGS = {".jsonl": "jsonl", ".jsonl.gz": "jsonl", ".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet"}
SAVED = "save_to_disk"


def detect_format(path: Path, accepted: tuple[str, ...]) -> str:
    """The format of a data file from its path alone, when it is one a loader `accepted`."""
    fmt = SAVED if path.is_dir() else next((f for end, f in FORMAT_ENDINGS.items()
                                            if path.name.lower().endswith(end)), None)
    if fmt not in accepted:
        expected = [end for end, f in FORMAT_ENDINGS.items() if f in accepted]
        expected += ["a folder written by Dataset.save_to_disk"] if SAVED in accepted else []
        raise HarnessError("cannot tell the format from the path: expected "
                           f"{', '.join(expected[:-1])} or {expected[-1]}", file=path)
    return fmt


def file_stem(path: Path) -> str:
    """``helpful-base-test.jsonl.gz`` -> ``helpful-base-test``: a stable, readable id prefix."""
    name = path.name
    for suffix in (".gz", ".jsonl", ".json", ".csv", ".parquet"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name or path.name


def require_file(path: Path) -> None:
    if not path.exists():
        raise HarnessError("file not found", file=path)


def fingerprint(path: Path) -> str:
    """sha256 of a file's bytes, or of a folder's relative names and bytes, in sorted order."""
    require_file(path)
    return digest_path(path)


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


def _window(n: int, offset: int, limit: int | None) -> range:
    stop = n if limit is None else min(n, offset + limit)
    return range(min(offset, n), stop)


def read_parquet(path: Path, *, offset: int = 0, limit: int | None = None
                 ) -> Iterator[tuple[int, Any]]:
    """Yield ``(record number, row dict)``; record numbers are 1-based."""
    import pyarrow.parquet as pq

    require_file(path)
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for unreadable files
        raise HarnessError(f"cannot read Parquet file ({type(exc).__name__}: {exc})",
                           file=path) from None
    rows = _window(table.num_rows, offset, limit)
    for i, record in enumerate(table.slice(rows.start, len(rows)).to_pylist()):
        yield rows.start + i + 1, record


def read_saved_dataset(path: Path, *, split: str | None = None, offset: int = 0,
                       limit: int | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(record number, row dict)`` from a ``save_to_disk`` folder (a Dataset, or one
    split of a DatasetDict)."""
    import datasets

    if not any((path / f).exists() for f in ("state.json", "dataset_dict.json")):
        raise HarnessError("not a folder written by Dataset.save_to_disk "
                           "(no state.json or dataset_dict.json)", file=path)
    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise HarnessError(f"cannot load dataset ({type(exc).__name__}: {exc})", file=path) from None
    if isinstance(ds, datasets.DatasetDict):
        names = sorted(ds)
        if split is None and len(names) == 1:
            split = names[0]
        if split not in ds:
            raise HarnessError(f"choose a split with split=... (have: {', '.join(names)})",
                               file=path, field="split")
        ds = ds[split]
    rows = _window(len(ds), offset, limit)
    for i, record in enumerate(ds.select(rows)):
        yield rows.start + i + 1, record
