"""Assemble a run's training data from its config: SFT chats and preference rows, with a summary
for the manifest (rows, kept, dropped and why, length statistics)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from harness.data import synthetic
from harness.errors import HarnessError
from harness.registry import load_object
from harness.store import digest_json


@dataclasses.dataclass
class PreparedData:
    sft_chats: list[dict]          # {"messages": [...]} for the starting checkpoint
    preference: list[dict]         # TRL conversational rows with "id" (and "kind" where known)
    test_pairs: list[dict]         # held-out synthetic pairs, both kinds
    summary: dict[str, Any]

    def preference_hash(self) -> str:
        return _hash(self.preference)

    def sft_hash(self) -> str:
        return _hash(self.sft_chats)

    def test_pairs_hash(self) -> str:
        return _hash(self.test_pairs)


def _hash(rows: list[dict]) -> str:
    return digest_json(rows)


def _load_source(src) -> tuple[list[dict], dict]:
    from harness.data import LOADERS
    loader = load_object(LOADERS.get(src.loader, field="loader"))
    path = Path(src.path)
    if not path.exists():
        raise HarnessError("data file not found (paths are relative to the working directory)", file=path)
    try:
        rows, report = loader(path, skip_bad_rows=src.skip_bad_rows, limit=src.limit, offset=src.offset,
                              **src.options)
    except TypeError as exc:
        raise HarnessError(f"bad loader option ({exc})", field=f"{src.loader}.options") from None
    rows = list(rows)
    if not rows:
        raise HarnessError("no rows read (an empty file, or offset past its end)", file=path)
    return rows, report.to_dict()


def prepare_data(cfg) -> PreparedData:
    sft: list[dict] = []
    pref: list[dict] = []
    test_pairs: list[dict] = []
    summary: dict[str, Any] = {}
    s = cfg.data.synthetic
    if s is not None:
        splits = synthetic.build(seed=cfg.seed, n_sft=s.n_sft, n_preference=s.n_preference, n_test=s.n_test,
                                 max_value=s.max_value, n_ops=s.n_ops, kinds=tuple(s.kinds))
        sft = [{"messages": r["messages"]} for r in splits.sft]
        pref = [{k: r[k] for k in ("id", "prompt", "chosen", "rejected", "kind")} for r in splits.preference]
        test_pairs = list(splits.test_pairs)
        summary["synthetic"] = {
            "sft_rows": len(sft), "preference_rows": len(pref), "test_pairs": len(splits.test_pairs),
            "kinds": {k: sum(r["kind"] == k for r in splits.preference) for k in s.kinds},
            "mean_edit_distance": {k: round(sum(r["edit_distance"] for r in splits.preference if r["kind"] == k)
                                            / max(1, sum(r["kind"] == k for r in splits.preference)), 4)
                                   for k in s.kinds}}
    for i, src in enumerate(cfg.data.sft_extra):
        rows, report = _load_source(src)
        sft += [{"messages": r["prompt"] + r["chosen"]} for r in rows]
        summary[f"sft_extra[{i}]"] = report
    for i, src in enumerate(cfg.data.preference_extra):
        loaded, report = _load_source(src)
        rows = [{"id": r["id"], "prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"],
                 "kind": r.get("kind", src.loader)} for r in loaded]
        if src.heldout > len(rows):
            raise HarnessError(f"heldout ({src.heldout}) is more than the {len(rows)} rows loaded",
                               field=f"data.preference_extra[{i}].heldout")
        test_pairs += rows[:src.heldout]  # heldout == all rows: a source of probe pairs only
        pref += rows[src.heldout:]
        summary[f"preference_extra[{i}]"] = {**report, "heldout": src.heldout,
                                             **_edit_distances(loaded[:src.heldout], loaded[src.heldout:])}
    if not pref:
        raise HarnessError("no preference rows: set data.synthetic or data.preference_extra", field="data")
    return PreparedData(sft, pref, test_pairs, summary)


def _edit_distances(heldout: list[dict], train: list[dict]) -> dict[str, Any]:
    """Mean normalised edit distance per kind of held-out and training pairs, for loaders that
    record one per pair (harness.data.gsm8k)."""
    out = {}
    for split, rows in (("heldout", heldout), ("train", train)):
        kinds: dict[str, list[float]] = {}
        for r in rows:
            if "edit_distance" in r:
                kinds.setdefault(r["kind"], []).append(r["edit_distance"])
        if kinds:
            out[f"{split}_mean_edit_distance"] = {k: round(sum(v) / len(v), 4) for k, v in kinds.items()}
    return out


def pair_kinds(pairs: list[dict]) -> list[str]:
    """Kinds of held-out pairs in first-seen order: near_miss/far_miss for the synthetic task, the
    loader name (hh_rlhf, ultrafeedback, ...) for real data."""
    return list(dict.fromkeys(r["kind"] for r in pairs))
