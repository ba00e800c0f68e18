"""IFEval's 541 prompts (tasks/data/ifeval/input_data.jsonl, the reference's own file)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from harness.errors import HarnessError


@dataclasses.dataclass(frozen=True)
class Prompt:
    """One IFEval prompt: its instructions and their arguments, as in the reference's InputExample."""

    key: int
    prompt: str
    instruction_id_list: tuple[str, ...]
    kwargs: tuple[dict[str, Any], ...]


def prompts_file() -> Path:
    from harness.tasks import data_dir
    return data_dir() / "ifeval" / "input_data.jsonl"


def load_prompts(path: Path | None = None) -> list[Prompt]:
    """The prompts in file order; a malformed row is an error naming its line and field."""
    path = path or prompts_file()
    rows = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise HarnessError(f"not JSON ({exc.msg})", file=path, row=line_no) from None
            for field, kind in (("key", int), ("prompt", str), ("instruction_id_list", list), ("kwargs", list)):
                if not isinstance(rec.get(field), kind):
                    raise HarnessError(f"expected {kind.__name__}", file=path, row=line_no, field=field)
            if len(rec["kwargs"]) != len(rec["instruction_id_list"]):
                raise HarnessError("one kwargs dict per instruction expected", file=path, row=line_no, field="kwargs")
            rows.append(Prompt(rec["key"], rec["prompt"], tuple(rec["instruction_id_list"]), tuple(rec["kwargs"])))
    return rows
