"""A training says which pairs it used: TRL drops a pair whose prompt fills max_length and cuts
answers that do not fit, silently; train_method's info["pairs"] counts both per source, and the
counts equal an independent tokenisation (harness.train.logps, TRL's split and truncation)."""
from __future__ import annotations

from datasets import Dataset

from harness.config import TrainSpec
from harness.methods import build_method
from harness.train.logps import tokenize_pair, truncate_pair
from harness.train.pairs import DROPPED, pair_report, pairs_line
from harness.train.runner import train_method

SPEC = TrainSpec(max_steps=1, batch_size=8, learning_rate=1e-9, max_length=48, logps_every=1, probe_pairs=2)


def _rows(splits) -> list[dict]:
    rows = [{k: r[k] for k in ("id", "prompt", "chosen", "rejected", "kind")} for r in splits.preference[:12]]
    long = "12+45=57; 57-7=50; 50+30=80; " * 8
    for i, r in enumerate(rows[:5]):  # five pairs of another source whose prompt alone is too long
        rows.append({**r, "id": f"long-{i}", "kind": "long_prompts",
                     "prompt": [{"role": "user", "content": long + r["prompt"][-1]["content"]}]})
    for i, r in enumerate(rows[:3]):  # three whose answers must be cut
        rows.append({**r, "id": f"cut-{i}", "kind": "long_answers",
                     "chosen": [{"role": "assistant", "content": long}]})
    return rows


def test_train_method_reports_pairs_dropped_and_cut_per_source(tiny_model_dir, tiny_splits, tmp_path):
    from transformers import AutoTokenizer
    rows = _rows(tiny_splits)
    info, _ = train_method(build_method("simpo"), str(tiny_model_dir), Dataset.from_list(rows), SPEC, tmp_path, 0, {})
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    expected: dict[str, dict] = {}
    for r in rows:
        split = tokenize_pair(tok, r)
        fit = truncate_pair(split, SPEC.max_length)
        e = expected.setdefault(r["kind"], {"pairs": 0, "trained": 0, "dropped": {}, "truncated": 0})
        e["pairs"] += 1
        if fit is None:
            e["dropped"][DROPPED] = e["dropped"].get(DROPPED, 0) + 1
        else:
            e["trained"] += 1
            e["truncated"] += len(split[0]) + max(len(split[1]), len(split[2])) > SPEC.max_length
    assert info["pairs"] == expected
    assert info["pairs"]["long_prompts"] == {"pairs": 5, "trained": 0, "dropped": {DROPPED: 5}, "truncated": 0}
    assert info["pairs"]["long_answers"]["trained"] == 3 and info["pairs"]["long_answers"]["truncated"] == 3
    line = pairs_line(info["pairs"], SPEC.max_length)
    assert "long_prompts 0 of 5 (5 dropped: the prompt alone fills max_length 48 tokens)" in line
    assert "long_answers 3 of 3 (3 with answers cut to fit max_length 48)" in line


def test_pair_report_matches_ids_not_positions():
    rows = Dataset.from_list([{"id": "a", "source": "uf"}, {"id": "b", "source": "uf"}, {"id": "c", "source": "hh"}])
    kept = Dataset.from_list([{"id": "c", "prompt_ids": [1], "chosen_ids": [2], "rejected_ids": [3]},
                              {"id": "a", "prompt_ids": [1] * 5, "chosen_ids": [2] * 6, "rejected_ids": [3]}])
    assert pair_report(rows, kept, 10) == {
        "uf": {"pairs": 2, "trained": 1, "dropped": {DROPPED: 1}, "truncated": 1},
        "hh": {"pairs": 1, "trained": 1, "dropped": {}, "truncated": 0}}
    assert pairs_line(pair_report(rows, kept, 100), 100) == (
        "preference pairs trained on: uf 1 of 2 (1 dropped: the prompt alone fills max_length 100 tokens); hh 1 of 1")
    whole = Dataset.from_list([{"id": "c", "prompt_ids": [1], "chosen_ids": [2], "rejected_ids": [3]}])
    assert pairs_line(pair_report(rows.select([2]), whole, 10), 10) is None
