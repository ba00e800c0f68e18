"""Shared pieces of the preference-data loaders: the row type, row validation, the load report.

Every loader yields TRL's conversational preference rows (``prompt`` messages ending in a user
turn, one-message ``chosen``/``rejected`` assistant lists), so later stages never see format
differences. Validation lives here once so a bad row gives the same one-line
``file:line: field: message`` error in every loader, and ``skip_bad_rows=True`` records the same
reasons in the same report, which goes into a run's manifest.json.
"""
from __future__ import annotations

import dataclasses
import os
import statistics
from typing import Any, Callable, Iterable, NamedTuple, TypedDict

from harness.errors import HarnessError

Message = dict[str, str]
ROLES = ("system", "user", "assistant")
MAX_LISTED = 1000  # row numbers kept per drop reason; counts are always exact
MAX_EXAMPLES = 20  # full one-line messages kept in the report


class PreferenceRow(TypedDict):
    """One pair; loaders may add keys (``prompt_id``, ``score_chosen``, ``score_rejected``)."""

    id: str
    prompt: list[Message]
    chosen: list[Message]
    rejected: list[Message]
    source: str


class RowError(HarnessError):
    """A bad data row. The reason code lets ``skip_bad_rows`` count drops by kind."""

    def __init__(self, message: str, *, reason: str, file: str | os.PathLike | None = None,
                 row: int | None = None, field: str | None = None) -> None:
        self.reason = reason
        super().__init__(message, file=file, row=row, field=field)


@dataclasses.dataclass(frozen=True)
class Where:
    """Where a record came from; builds errors that name it."""

    file: str
    row: int

    def fail(self, reason: str, field: str | None, message: str) -> RowError:
        return RowError(message, reason=reason, file=self.file, row=self.row, field=field)


def _stats(values: list[int]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "median": 0.0, "max": 0}
    return {"mean": round(statistics.fmean(values), 1), "median": statistics.median(values),
            "max": max(values)}


@dataclasses.dataclass
class LoadReport:
    """What a load did: rows read, kept and dropped (why, and which), and length statistics.

    Row numbers are 1-based file lines for JSONL/CSV and 1-based record numbers for Parquet
    and ``save_to_disk`` folders (``row_unit`` says which).
    """

    file: str
    format: str
    source: str
    options: dict[str, Any]
    sha256: str = ""  # of the file (or of a folder's files), so a manifest pins the data
    row_unit: str = "line"
    rows_read: int = 0
    rows_kept: int = 0
    dropped_rows: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    dropped_counts: dict[str, int] = dataclasses.field(default_factory=dict)
    examples: list[str] = dataclasses.field(default_factory=list)
    flags: dict[str, int] = dataclasses.field(default_factory=dict)
    lengths: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:  # every loader passes its window here, so check it once
        for name in ("offset", "limit"):
            value = self.options.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise HarnessError(f"must be a non-negative integer, got {value!r}", field=name)

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped_counts.values())

    def drop(self, err: RowError) -> None:
        self.dropped_counts[err.reason] = self.dropped_counts.get(err.reason, 0) + 1
        listed = self.dropped_rows.setdefault(err.reason, [])
        if len(listed) < MAX_LISTED and err.row is not None:
            listed.append(err.row)
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(err.one_line())

    def flag(self, name: str) -> None:
        self.flags[name] = self.flags.get(name, 0) + 1

    def finish(self, rows: list[dict]) -> None:
        self.rows_kept = len(rows)
        self.lengths = {f"{k}_chars": _stats([sum(len(m["content"]) for m in r[k]) for r in rows])
                        for k in ("prompt", "chosen", "rejected")}
        self.lengths["prompt_messages"] = _stats([len(r["prompt"]) for r in rows])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary for a run's manifest.json."""
        return {"file": self.file, "format": self.format, "source": self.source,
                "sha256": self.sha256, "options": dict(self.options), "row_unit": self.row_unit,
                "rows_read": self.rows_read, "rows_kept": self.rows_kept,
                "rows_dropped": self.rows_dropped,
                "dropped_by_reason": dict(sorted(self.dropped_counts.items())),
                "dropped_rows": {k: list(v) for k, v in sorted(self.dropped_rows.items())},
                "dropped_examples": list(self.examples), "flags": dict(sorted(self.flags.items())),
                "lengths": self.lengths}


class LoadResult(NamedTuple):
    """``rows, report = load_...(path)``."""

    rows: list[dict]
    report: LoadReport


def get_field(record: Any, name: str, where: Where) -> Any:
    """A required field; missing or null is an error naming the field."""
    if not isinstance(record, dict):
        raise where.fail("wrong_type", "json", f"expected a JSON object, got {type(record).__name__}")
    value = record.get(name)
    if value is None:
        raise where.fail("missing_field", name, "missing field")
    return value


def as_messages(value: Any, field: str, where: Where, *, default_role: str) -> list[Message]:
    """A plain string becomes one message with ``default_role``; a list is checked message by
    message, so an error can name e.g. ``chosen[1].content``."""
    if isinstance(value, str):
        return [{"role": default_role, "content": value}]
    if not isinstance(value, list):
        raise where.fail("wrong_type", field,
                         f"expected a string or a list of messages, got {type(value).__name__}")
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict):
            raise where.fail("wrong_type", f"{field}[{i}]",
                             f"expected a {{role, content}} object, got {type(m).__name__}")
        role, content = m.get("role"), m.get("content")
        if role not in ROLES:
            raise where.fail("bad_role", f"{field}[{i}].role",
                             f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if not isinstance(content, str):
            raise where.fail("wrong_type", f"{field}[{i}].content",
                             f"expected a string, got {type(content).__name__}")
        out.append({"role": role, "content": content})
    return out


def _at(name: str, index: int, part: str, text_fields: frozenset[str]) -> str:
    """``chosen`` for a field given as plain text, else ``chosen[1].content``."""
    return name if name in text_fields else f"{name}[{index}].{part}"


def make_pair(where: Where, prompt: str | list[Message] | None, chosen: list[Message],
              rejected: list[Message], *, names: tuple[str, str, str] = ("prompt", "chosen", "rejected"),
              text_fields: frozenset[str] = frozenset()) -> tuple[list[Message], Message, Message]:
    """Split full or answer-only conversations into (prompt messages, chosen, rejected answer).

    Whatever precedes each final answer is the conversation so far; it must be identical in
    chosen and rejected, otherwise the two answers do not answer the same prompt and the pair
    means nothing. An explicit ``prompt`` must agree with that shared prefix when both exist (a
    string is compared with the first user message, as UltraFeedback defines ``prompt``).
    ``text_fields`` are fields given as plain text, named without a message index in errors.
    """
    p_name, c_name, r_name = names
    for name, msgs in ((c_name, chosen), (r_name, rejected)):
        if not msgs:
            raise where.fail("empty_answer", name, "no messages")
        last, i = msgs[-1], len(msgs) - 1
        if last["role"] != "assistant":
            raise where.fail("no_final_assistant", _at(name, i, "role", text_fields),
                             f"final message must be the assistant's answer, got role {last['role']!r}")
        if not last["content"].strip():
            raise where.fail("empty_answer", _at(name, i, "content", text_fields), "empty answer")
    prefix = chosen[:-1]
    if prefix != rejected[:-1]:
        diff = next((i for i, (a, b) in enumerate(zip(prefix, rejected[:-1])) if a != b),
                    min(len(prefix), len(rejected) - 1))
        raise where.fail("prompt_mismatch", r_name,
                         f"does not share {c_name}'s prompt: {len(rejected) - 1} vs "
                         f"{len(prefix)} messages before the answer, first difference at "
                         f"message {diff}")
    if prompt is None:
        messages = prefix
    elif isinstance(prompt, str):
        messages = prefix or [{"role": "user", "content": prompt}]
        first_user = next((m["content"] for m in messages if m["role"] == "user"), None)
        if first_user != prompt:
            raise where.fail("prompt_mismatch", p_name,
                             f"prompt differs from the first user message of {c_name}")
    else:
        if prefix and prompt != prefix:
            raise where.fail("prompt_mismatch", p_name,
                             f"prompt messages differ from the conversation in {c_name}")
        messages = prompt
    if not messages:
        raise where.fail("missing_field", p_name,
                         "no prompt: nothing precedes the final answer")
    if messages[-1]["role"] != "user":
        raise where.fail("bad_role", p_name, "the prompt (conversation before the final answer) "
                         "must end with a user message")
    if not messages[-1]["content"].strip():
        raise where.fail("empty_prompt", p_name, "empty user message at the end of the prompt")
    return messages, chosen[-1], rejected[-1]


def pair_row(row_id: str, source: str, prompt: list[Message], chosen: Message,
             rejected: Message, **extra: Any) -> dict:
    return {"id": row_id, "prompt": prompt, "chosen": [dict(chosen)],
            "rejected": [dict(rejected)], "source": source, **extra}


def collect(records: Iterable[tuple[int, Any]], build: Callable[[Where, Any], dict],
            report: LoadReport, *, skip_bad_rows: bool, id_field: str = "id",
            drop_identical: bool = False, drop_ties: bool = False) -> list[dict]:
    """Run ``build`` over records; raise the first RowError, or record and skip it.

    Identical answers and score ties are valid rows, so they are only counted in
    ``report.flags`` unless the caller asked to drop them (then they are drops like any other,
    whatever ``skip_bad_rows`` says, since they are filters, not errors).
    """
    rows: list[dict] = []
    first_seen: dict[str, int] = {}
    for line, record in records:
        report.rows_read += 1
        where = Where(report.file, line)
        try:
            if isinstance(record, RowError):
                raise record
            row = build(where, record)
            if row["id"] in first_seen:
                raise where.fail("duplicate_id", id_field,
                                 f"duplicate id {row['id']!r} (first at row {first_seen[row['id']]})")
        except RowError as err:
            if not skip_bad_rows:
                raise
            report.drop(err)
            continue
        first_seen[row["id"]] = line
        if row["chosen"][0]["content"] == row["rejected"][0]["content"]:
            report.flag("identical_answers")
            if drop_identical:
                report.drop(where.fail("identical_answers", "rejected", "same text as chosen"))
                continue
        if "score_chosen" in row and "score_rejected" in row:
            if row["score_chosen"] == row["score_rejected"]:
                report.flag("score_ties")
                if drop_ties:
                    report.drop(where.fail("score_tie", "score_rejected", "same score as chosen"))
                    continue
            elif row["score_chosen"] < row["score_rejected"]:
                report.flag("score_inverted")
        rows.append(row)
    if report.rows_read and not rows:  # e.g. skip_bad_rows with a loader of another format
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(report.dropped_counts.items()))
        first = report.examples[0].removeprefix(f"{report.file}:") if report.examples else ""
        raise HarnessError(f"every one of the {report.rows_read} rows read was dropped ({reasons}); first: line "
                           f"{first}. Is the file in this loader's format ({report.source.split('/')[0]})?",
                           file=report.file)
    report.finish(rows)
    return rows
