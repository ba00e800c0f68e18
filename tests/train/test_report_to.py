"""train.report_to passes the user's trackers through to TRL: TensorBoard, offline, gets a job's
training curves in its own folder under the job's stage; the setting is in no cache key."""
from __future__ import annotations

import pytest

from harness.config import RunConfig, SFTSpec, TrainSpec, load_config
from harness.errors import HarnessError

BASE = """run_name: t
model: {embedded: {}}
methods: [dpo, {name: ipo, train: {max_steps: 3}}]
tasks: [synthetic_arith]
"""


def test_report_to_is_out_of_cache_keys_and_reaches_method_overrides(tmp_path):
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text(BASE + "train: {report_to: [tensorboard]}\n")
    cfg = load_config(cfg_file)
    assert cfg.train.report_to == ["tensorboard"]
    assert "report_to" not in cfg.train.model_dump()  # stage keys are built from model_dump
    assert cfg.train.model_dump() == TrainSpec().model_dump()
    ipo = cfg.train_for(cfg.methods[1])
    assert ipo.max_steps == 3 and ipo.report_to == ["tensorboard"]
    assert isinstance(cfg, RunConfig)


def test_unknown_tracker_is_a_one_line_error(tmp_path):
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text(BASE + "train: {report_to: [tensorbaord]}\n")
    with pytest.raises(HarnessError, match=r"train.report_to: unknown tracker 'tensorbaord' "
                                           r"\(did you mean 'tensorboard'\?\)"):
        load_config(cfg_file)


def test_tensorboard_gets_the_training_curve_offline(tiny_model_dir, tiny_splits, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from harness.train.runner import train_sft
    stage = tmp_path / "stage"
    spec = SFTSpec(max_steps=4, batch_size=8, warmup_steps=0, max_length=64, report_to=["tensorboard"])
    train_sft(str(tiny_model_dir), [{"messages": r["messages"]} for r in tiny_splits.sft[:32]], spec, stage, seed=0)
    runs = [p for p in (stage / "trainer" / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1 and list(runs[0].glob("events.out.tfevents.*"))
    events = EventAccumulator(str(runs[0]))
    events.Reload()
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == [1, 2, 3, 4]
    assert all(e.value > 0 for e in loss)
