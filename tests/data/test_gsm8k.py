"""The GSM8K loader: near-miss and far-miss pairs from the shipped real problems."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.config import load_config
from harness.data.gsm8k import load_gsm8k
from harness.data.prepare import prepare_data
from harness.errors import HarnessError

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tasks" / "data" / "gsm8k"
TRAIN = DATA / "train_first400.jsonl"
TEST = DATA / "test_first100.jsonl"
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _text(row: dict, side: str) -> str:
    return row[side][0]["content"]


def test_shipped_rows_load_both_kinds() -> None:
    rows, report = load_gsm8k(TRAIN, max_chars=600)
    summary = report.to_dict()
    assert summary["rows_read"] == 400
    assert summary["dropped_by_reason"] == {"single_step": 26, "too_long": 107}
    assert len(rows) == 2 * (400 - 26 - 107) == summary["rows_kept"]
    assert [r["kind"] for r in rows[:4]] == ["near_miss", "far_miss"] * 2
    assert rows[0]["id"] == "train_first400:1:near_miss"
    for r in rows:
        chosen, rejected = _text(r, "chosen"), _text(r, "rejected")
        assert "<<" not in chosen + rejected and chosen.endswith(f"#### {r['answer']}")
        if r["kind"] == "near_miss":
            # one number changed, nothing else: same final answer, same words
            a, b = NUMBER.findall(chosen), NUMBER.findall(rejected)
            assert len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1
            assert NUMBER.sub("#", chosen) == NUMBER.sub("#", rejected)
            assert a[-1] == b[-1]  # the final answer is untouched
        else:
            assert not rejected.endswith(f"#### {r['answer']}")
    near = [r["edit_distance"] for r in rows if r["kind"] == "near_miss"]
    far = [r["edit_distance"] for r in rows if r["kind"] == "far_miss"]
    assert sum(near) / len(near) < 0.05 and sum(far) / len(far) > 0.6
    assert max(near) < min(far)


def test_near_miss_does_not_depend_on_the_window() -> None:
    whole, _ = load_gsm8k(TRAIN, limit=40, kinds=["near_miss"])
    window, _ = load_gsm8k(TRAIN, offset=20, limit=20, kinds=["near_miss"])
    by_id = {r["id"]: r for r in whole}
    assert window and all(by_id[r["id"]] == r for r in window)
    other_seed, _ = load_gsm8k(TRAIN, limit=40, kinds=["near_miss"], seed=1)
    assert [_text(r, "rejected") for r in other_seed] != [_text(r, "rejected") for r in whole]


def test_bad_kinds_option_names_the_field() -> None:
    with pytest.raises(HarnessError, match="kinds: must be distinct names"):
        load_gsm8k(TRAIN, kinds=["near_miss", "typo"])


def test_heldout_test_file_gives_disjoint_probe_pairs(tmp_path: Path) -> None:
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(f"""run_name: t
model: {{embedded: {{vocab_size: 300, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}}}}
data:
  synthetic: null
  preference_extra:
    - {{loader: gsm8k, path: {TRAIN}, limit: 30, options: {{max_chars: 600}}}}
    - {{loader: gsm8k, path: {TEST}, limit: 10, heldout: 14, options: {{max_chars: 600}}}}
methods: [dpo]
tasks: []
""")
    data = prepare_data(load_config(cfg_path))
    assert len(data.test_pairs) == 14 and {r["kind"] for r in data.test_pairs} == {"near_miss", "far_miss"}
    train_q = {r["prompt"][0]["content"] for r in data.preference}
    assert train_q and not train_q & {r["prompt"][0]["content"] for r in data.test_pairs}
    summary = data.summary["preference_extra[1]"]
    assert summary["heldout_mean_edit_distance"]["near_miss"] < 0.05
    assert summary["heldout_mean_edit_distance"]["far_miss"] > 0.6
    assert data.summary["preference_extra[0]"]["train_mean_edit_distance"]["far_miss"] > 0.6
    over = cfg_path.read_text().replace("heldout: 14", "heldout: 15")
    cfg_path.write_text(over)
    with pytest.raises(HarnessError, match="heldout .15. is more than the 14 rows loaded"):
        prepare_data(load_config(cfg_path))
