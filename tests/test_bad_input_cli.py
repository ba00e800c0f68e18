"""Bad input found by trying the CLI as a user would: each is one line naming the file, row or
field, exit 2, before any work (typer's CliRunner, in process)."""
from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app

REPO = Path(__file__).resolve().parent.parent
BASE = """run_name: t
model: {embedded: {vocab_size: 300, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}}
methods: [dpo]
tasks: [synthetic_arith]
"""


def _error_line(result) -> str:
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def _run(tmp_path: Path, text: str, *args: str):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(text + f"cache_dir: {tmp_path}/cache\nresults_dir: {tmp_path}/results\n")
    return CliRunner().invoke(app, ["run", str(cfg), *args])


def test_run_a_folder(tmp_path):
    line = _error_line(CliRunner().invoke(app, ["run", str(tmp_path)]))
    assert line == f"error: {tmp_path}: is a folder, not a run config file (e.g. tasks/runs/quickstart.yaml)"


def test_run_a_binary_file(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"\x00\xff\xfe binary")
    assert f"{path}: not UTF-8 text" in _error_line(CliRunner().invoke(app, ["run", str(path)]))


@pytest.mark.parametrize("text, expected", [
    # the launcher does not use it, but a typo must not wait until it does
    (BASE + "train: {launcher: torchrun, accelerate_config: zero9}\n",
     "run.yaml: train.accelerate_config: accelerate config 'zero9' is neither one of TRL's"),
    (BASE.replace("[dpo]", "[{name: dpo, train: {accelerate_config: zero9}}]"),
     "run.yaml: methods[0] (dpo).train.accelerate_config: accelerate config 'zero9'"),
    # no task is judged, the judge section is still checked
    (BASE + "judge: {base_url: 'htp:/x', model: m}\n",
     "run.yaml: judge.base_url: must be an http:// or https:// URL with a host"),
    (BASE + "judge: {base_url: 'http://', model: m}\n", "judge.base_url: must be an http://"),
    (BASE + "judge: {base_url: 'http://127.0.0.1:port/v1', model: m}\n", "judge.base_url: not a valid URL"),
])
def test_run_bad_fields_even_unused(tmp_path, text, expected):
    assert expected in _error_line(_run(tmp_path, text))


def test_skip_bad_rows_with_the_wrong_loader_says_every_row_is_malformed(tmp_path):
    hh = REPO / "tasks/data/hh_rlhf/helpful-base-test.jsonl.gz"
    text = BASE + (f"data: {{preference_extra: [{{loader: ultrafeedback, path: '{hh}', skip_bad_rows: true, "
                   f"limit: 20, heldout: 2}}]}}\n")
    line = _error_line(_run(tmp_path, text))
    # it blamed `heldout` ("heldout (2) leaves no training rows of 0")
    assert "heldout" not in line
    assert line.startswith(f"error: {hh}: every one of the 20 rows read was dropped (20 missing_field); first: "
                           "line 1: chosen: ")
    assert line.endswith("Is the file in this loader's format (ultrafeedback)?")


def test_a_local_judge_model_is_checked_even_when_no_task_is_judged(tmp_path):
    line = _error_line(_run(tmp_path, BASE + f"judge: {{serve: {{model: '{tmp_path}/nope'}}, model: m}}\n"))
    assert line == f"error: {tmp_path}/run.yaml: judge.serve.model: {tmp_path}/nope does not exist"


@pytest.mark.parametrize("limit", ["-1", "0", "2.5"])
def test_lm_eval_bad_limit(tmp_path, limit):
    (tmp_path / "manifest.json").write_text('{"config": {}, "checkpoints": {"base": "x"}}')
    line = _error_line(CliRunner().invoke(app, ["lm-eval", str(tmp_path), "--tasks", "t", "--limit", limit]))
    assert line.startswith("error: --limit: must be a whole number of documents or a fraction in (0, 1)")


@pytest.mark.parametrize("text, expected", [
    (BASE + "data: {preference_extra: [{loader: hh_rlhf, path: x.jsonl, options: {drop_ties: true}}]}\n",
     "data.preference_extra[0]: options.drop_ties: unknown option of loader 'hh_rlhf'; valid: drop_identical, source"),
    (BASE + "data: {preference_extra: [{loader: generic, path: x.jsonl, options: {limit: 5}}]}\n",
     "data.preference_extra[0]: options.limit: set limit as a field of this source, not as an option"),
    (BASE.replace("run_name: t", "run_name: ../elsewhere"), "run_name: must be a folder name"),
    (BASE.replace("run_name: t", "run_name: ''"), "run_name: must be a folder name"),
])
def test_run_bad_sources_and_names(tmp_path, text, expected):
    assert expected in _error_line(_run(tmp_path, text))
