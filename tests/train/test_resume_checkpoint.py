"""Which checkpoint a killed training resumes from: the newest complete one."""
from __future__ import annotations

import json

from harness.train.runner import _last_checkpoint


def _ckpt(root, step: int, complete: bool) -> None:
    d = root / f"checkpoint-{step}"
    d.mkdir(parents=True)
    (d / "model.safetensors").write_bytes(b"x")
    if complete:
        (d / "trainer_state.json").write_text(json.dumps({"global_step": step}))


def test_a_checkpoint_killed_while_saving_is_skipped(tmp_path):
    assert _last_checkpoint(tmp_path) is None
    _ckpt(tmp_path, 25, complete=True)
    _ckpt(tmp_path, 100, complete=False)  # killed before trainer_state.json was written
    assert _last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-25")
    (tmp_path / "checkpoint-100" / "trainer_state.json").write_text('{"global_st')  # killed mid-write
    assert _last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-25")
    _ckpt(tmp_path, 50, complete=True)  # numeric order, not string order
    assert _last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-50")
