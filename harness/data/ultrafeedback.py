"""UltraFeedback binarized (HuggingFaceH4/ultrafeedback_binarized) from local files.

A row holds ``chosen`` and ``rejected`` as full conversations (user turn, then the answer),
and optionally ``prompt``, ``prompt_id``, ``messages`` and the two GPT-4 ``score_*`` values.
The prompt messages are ``chosen[:-1]``, which must equal ``rejected[:-1]``; a ``prompt``
string, when present, must equal the first user message (that is how the dataset defines it).
``messages`` duplicates ``chosen`` and is ignored. Row ids are ``prompt_id``, or, when a file
lacks it, the sha256 hex digest of the prompt, which is how the dataset computes it; so the same
pair gets the same id from every format.

Score ties: binarization picked the best-rated completion as chosen and a random other one as
rejected, so some pairs have equal scores (4 of the 16 full-schema fixture rows). Ties are
kept by default, because the published dataset and results keep them, and counted in the
report (``flags.score_ties``); ``drop_ties=True`` drops them as ``score_tie``. Pairs whose
chosen scores lower than rejected are kept and counted (``flags.score_inverted``).

Formats, told apart by the path: ``.jsonl``/``.jsonl.gz`` (row numbers are file lines),
``.parquet`` and a folder written by ``Dataset.save_to_disk`` (row numbers are 1-based records).
On the shipped 500-row file, 2 rows have an empty chosen answer (lines 190 and 469) and 11 have
chosen identical to rejected (kept unless ``drop_identical=True``).
"""
from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path
from typing import Any

from harness.data.files import detect_format, file_stem, fingerprint, read_jsonl, read_parquet, read_saved_dataset
from harness.data.rows import LoadReport, LoadResult, Where, as_messages, collect, get_field, make_pair, pair_row


def _score(record: dict, name: str, where: Where) -> float:
    value = get_field(record, name, where)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise where.fail("wrong_type", name, f"expected a finite number, got {value!r}")
    return float(value)


def build_ultrafeedback(where: Where, record: Any, source: str) -> dict:
    """One validated row from one UltraFeedback record (also usable on in-memory records)."""
    chosen = as_messages(get_field(record, "chosen", where), "chosen", where, default_role="assistant")
    rejected = as_messages(get_field(record, "rejected", where), "rejected", where,
                           default_role="assistant")
    prompt_text = record.get("prompt")
    if prompt_text is not None and not isinstance(prompt_text, str):
        raise where.fail("wrong_type", "prompt", f"expected a string, got {type(prompt_text).__name__}")
    names = ("prompt" if prompt_text is not None else "chosen", "chosen", "rejected")
    prompt, c, r = make_pair(where, prompt_text, chosen, rejected, names=names)
    first_user = next(m["content"] for m in prompt if m["role"] == "user")
    prompt_id = record.get("prompt_id")
    if prompt_id is None:
        prompt_id = hashlib.sha256(first_user.encode("utf-8")).hexdigest()
    elif not isinstance(prompt_id, str) or not prompt_id:
        raise where.fail("wrong_type", "prompt_id", f"expected a non-empty string, got {prompt_id!r}")
    extra: dict[str, Any] = {"prompt_id": prompt_id}
    if record.get("score_chosen") is not None or record.get("score_rejected") is not None:
        extra["score_chosen"] = _score(record, "score_chosen", where)
        extra["score_rejected"] = _score(record, "score_rejected", where)
    return pair_row(prompt_id, source, prompt, c, r, **extra)


def load_ultrafeedback(path: str | os.PathLike, *, skip_bad_rows: bool = False,
                       drop_ties: bool = False, drop_identical: bool = False,
                       limit: int | None = None, offset: int = 0, split: str | None = None,
                       source: str | None = None) -> LoadResult:
    """Load UltraFeedback-binarized rows from JSONL(.gz), Parquet or a save_to_disk folder.

    ``offset``/``limit`` select records before validation (a fixed window of the source).
    ``split`` picks a split of a saved DatasetDict (needed only when it has several).
    """
    path = Path(path)
    fmt = detect_format(path, ("jsonl", "parquet", "save_to_disk"))
    source = source or f"ultrafeedback/{file_stem(path)}"
    report = LoadReport(file=str(path), format=fmt, source=source, sha256=fingerprint(path),
                        row_unit="line" if fmt == "jsonl" else "record",
                        options={"skip_bad_rows": skip_bad_rows, "drop_ties": drop_ties,
                                 "drop_identical": drop_identical, "limit": limit,
                                 "offset": offset, "split": split})
    if fmt == "jsonl":
        records = read_jsonl(path, offset=offset, limit=limit)
    elif fmt == "parquet":
        records = read_parquet(path, offset=offset, limit=limit)
    else:
        records = read_saved_dataset(path, split=split, offset=offset, limit=limit)
    rows = collect(records, lambda where, rec: build_ultrafeedback(where, rec, source), report,
                   skip_bad_rows=skip_bad_rows, id_field="prompt_id", drop_identical=drop_identical,
                   drop_ties=drop_ties)
    return LoadResult(rows, report)
