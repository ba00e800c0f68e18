"""Anthropic HH-RLHF in its raw form: two transcripts per line, ``chosen`` and ``rejected``.

Each transcript is ``"\\n\\nHuman: ...\\n\\nAssistant: ..."``. The pair's prompt is everything
before the final assistant turn and must be identical in both transcripts; the answers are the
two final assistant turns. The raw text has quirks that matter for chat templates:

- a speaker marker sometimes lacks its blank line (``"...products.  Human:  Thanks."``), so the
  split yields two consecutive turns of one role. The shared-prompt rule is checked on the
  turns as written (the final turn is the answer). Inside an accepted prompt, same-role runs
  are then merged (joined by a blank line) so roles alternate, as chat templates require; the
  garble is identical on both sides and no text is lost (counted as ``prompt_turns_merged``).
  A prompt that ends with an Assistant turn (two in a row before the answer) is rejected
  (``bad_role``): the answer cannot be told apart from the turn before it.
- some final answers are empty, and in a few rows chosen and rejected are different
  conversations. Those rows are bad: an error, or with ``skip_bad_rows=True`` a recorded drop.

On the shipped test splits (tasks/data/hh_rlhf/) with ``skip_bad_rows=True``:
helpful-base: 2354 read, 9 fail the shared-prompt rule, 4 have an empty answer, 2341 kept;
harmless-base: 2312 read, 5 fail the shared-prompt rule, 4 have an empty answer, 2303 kept.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from harness.data.files import file_stem, fingerprint, read_jsonl
from harness.data.rows import LoadReport, LoadResult, Message, Where, collect, get_field, make_pair, pair_row

_TURN = re.compile(r"(?:^|\n\n)(Human|Assistant):")
_ROLE = {"Human": "user", "Assistant": "assistant"}


def parse_transcript(text: str) -> tuple[str, list[Message]]:
    """Split a raw transcript at its speaker markers into messages, contents stripped.

    Returns the text before the first marker too (it should be empty). Turns are kept as
    written, so a missing marker shows up as two consecutive turns of one role.
    """
    parts = _TURN.split(text)
    turns = [{"role": _ROLE[s], "content": c.strip()} for s, c in zip(parts[1::2], parts[2::2])]
    return parts[0], turns


def merge_runs(messages: list[Message]) -> list[Message]:
    """Join consecutive same-role messages with a blank line, so roles alternate as chat
    templates require; no text is lost."""
    out: list[Message] = []
    for m in messages:
        if out and out[-1]["role"] == m["role"]:
            out[-1] = {"role": m["role"],
                       "content": "\n\n".join(c for c in (out[-1]["content"], m["content"]) if c)}
        else:
            out.append(dict(m))
    return out


def _transcript(record: object, field: str, where: Where) -> list[Message]:
    value = get_field(record, field, where)
    if not isinstance(value, str):
        raise where.fail("wrong_type", field,
                         f"expected a transcript string, got {type(value).__name__}")
    head, messages = parse_transcript(value)
    if head.strip():
        raise where.fail("bad_transcript", field,
                         f"text before the first 'Human:' turn: {head.strip()[:40]!r}")
    if not messages:
        raise where.fail("no_final_assistant", field, "no 'Human:'/'Assistant:' turns")
    if messages[-1]["role"] != "assistant":
        raise where.fail("no_final_assistant", field, "transcript does not end with an Assistant turn")
    return messages


def load_hh_rlhf(path: str | os.PathLike, *, skip_bad_rows: bool = False,
                 drop_identical: bool = False, limit: int | None = None, offset: int = 0,
                 source: str | None = None) -> LoadResult:
    """Load a raw HH-RLHF ``.jsonl`` or ``.jsonl.gz`` file.

    ``offset``/``limit`` select non-blank lines of the file before validation, so the same
    window is read whatever ``skip_bad_rows`` says. Row ids are ``<file stem>:<line>``, which
    lead straight back to the source line. ``drop_identical`` drops pairs whose answers are the
    same text (always counted in ``report.flags``).
    """
    path = Path(path)
    stem = file_stem(path)
    source = source or f"hh-rlhf/{stem}"
    report = LoadReport(file=str(path), format="hh-rlhf-jsonl", source=source,
                        sha256=fingerprint(path),
                        options={"skip_bad_rows": skip_bad_rows, "drop_identical": drop_identical,
                                 "limit": limit, "offset": offset})
    text = frozenset({"chosen", "rejected"})

    def build(where: Where, record: object) -> dict:
        chosen = _transcript(record, "chosen", where)
        rejected = _transcript(record, "rejected", where)
        prompt, c, r = make_pair(where, None, chosen, rejected, names=("chosen", "chosen", "rejected"),
                                 text_fields=text)
        merged = merge_runs(prompt)
        if len(merged) != len(prompt):
            report.flag("prompt_turns_merged")
        return pair_row(f"{stem}:{where.row}", source, merged, c, r)

    rows = collect(read_jsonl(path, offset=offset, limit=limit), build, report,
                   skip_bad_rows=skip_bad_rows, drop_identical=drop_identical)
    return LoadResult(rows, report)
