"""Which preference pairs a training actually used, per source.

TRL's DPOTrainer (1.16, `truncation_mode="keep_start"`) drops every pair whose tokenised prompt
alone fills `max_length` (no completion token would be left to learn from) and cuts the answers
of the pairs that do not fit. Neither says a word: 119 of 200 UltraFeedback pairs were once
dropped while the data report said 200 rows kept. `pair_report` compares the rows given to the
trainer with the rows its tokenised dataset still holds (matched by id), so the counts are what
TRL did, not a re-implementation of its rule.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

DROPPED = "prompt_fills_max_length"  # the only filter of TRL's preference tokenisation


def _sources(rows) -> list[str]:
    """Each row's source: its `source` column, else its `kind` (synthetic near_miss/far_miss, or
    the loader name of real data), else one source "data"."""
    for column in ("source", "kind"):
        if column in rows.column_names:
            return [str(x) for x in rows[column]]
    return ["data"] * len(rows)


def pair_report(rows, kept, max_length: int | None) -> dict[str, dict[str, Any]]:
    """{source: {"pairs", "trained", "dropped": {reason: n}, "truncated"}} for the rows given to
    TRL (`rows`, with `id`) and TRL's tokenised train dataset (`kept`: `id`, `prompt_ids`,
    `chosen_ids`, `rejected_ids`). "truncated": pairs trained on whose longer answer was cut to fit."""
    left = Counter(str(i) for i in kept["id"])
    cut = Counter()
    if max_length is not None:
        for i, p, c, r in zip(kept["id"], kept["prompt_ids"], kept["chosen_ids"], kept["rejected_ids"]):
            cut[str(i)] += len(p) + max(len(c), len(r)) > max_length
    out: dict[str, dict[str, Any]] = {}
    for source, row_id in zip(_sources(rows), (str(i) for i in rows["id"])):
        entry = out.setdefault(source, {"pairs": 0, "trained": 0, "dropped": {}, "truncated": 0})
        entry["pairs"] += 1
        if left[row_id] > 0:
            left[row_id] -= 1
            entry["trained"] += 1
            if cut[row_id] > 0:
                cut[row_id] -= 1
                entry["truncated"] += 1
        else:
            entry["dropped"][DROPPED] = entry["dropped"].get(DROPPED, 0) + 1
    return out


def pairs_line(report: dict[str, dict[str, Any]], max_length: int | None) -> str | None:
    """One line for the terminal and the leaderboard notes when a pair was dropped or cut; None
    when every pair was trained on whole."""
    if not any(e["dropped"] or e["truncated"] for e in report.values()):
        return None
    parts = []
    for source, e in report.items():
        text = f"{source} {e['trained']} of {e['pairs']}"
        if e["dropped"].get(DROPPED):
            text += f" ({e['dropped'][DROPPED]} dropped: the prompt alone fills max_length {max_length} tokens)"
        if e["truncated"]:
            text += f" ({e['truncated']} with answers cut to fit max_length {max_length})"
        parts.append(text)
    return "preference pairs trained on: " + "; ".join(parts)


def pairs_lines(trainings: Iterable[dict[str, Any]]) -> list[str]:
    """The distinct `pairs_line`s of several trainings (each a dict with `pairs` and `max_length`:
    a train_costs row or a manifest's training entry), in order; none when nothing was dropped."""
    lines = (pairs_line(t["pairs"], t.get("max_length")) for t in trainings if t.get("pairs"))
    return [line for line in dict.fromkeys(lines) if line]
