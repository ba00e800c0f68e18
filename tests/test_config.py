import subprocess
import sys
from pathlib import Path

import pytest

from harness.config import load_config
from harness.errors import HarnessError

REPO = Path(__file__).resolve().parent.parent
BASE = """run_name: t
model: {embedded: {vocab_size: 300, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}}
methods: [dpo]
tasks: [synthetic_arith]
"""


def _write(tmp_path, text):
    p = tmp_path / "run.yaml"
    p.write_text(text)
    return p


def test_quickstart_config_loads():
    cfg = load_config(REPO / "tasks/runs/quickstart.yaml")
    assert [m.name for m in cfg.methods] == ["sft", "dpo", "dpop", "asft", "orpo"]


@pytest.mark.parametrize("text, expected", [
    (BASE.replace("[dpo]", "[dpoo]"), "methods[0]: unknown method 'dpoo' (did you mean 'dpo'?); valid:"),
    (BASE.replace("[dpo]", "[{name: dpop, params: {beta: -1}}]"), "methods[0] (dpop): beta: must be > 0"),
    (BASE.replace("[dpo]", "[{name: dpop, params: {lamda: 5}}]"), "methods[0] (dpop).lamda: unknown hyper-parameter"),
    (BASE.replace("run_name: t\n", ""), "run_name: field required"),
    (BASE + "trian: {max_steps: 3}\n", "trian: unknown field"),
    (BASE + "train: {max_steps: many}\n", "train.max_steps: input should be a valid integer"),
    (BASE + "train: {learning_rate: -1}\n", "train.learning_rate: input should be greater than 0"),
    ("run_name: [unclosed\n", "invalid YAML"),
])
def test_bad_config_one_line(tmp_path, text, expected):
    with pytest.raises(HarnessError) as err:
        load_config(_write(tmp_path, text))
    msg = err.value.one_line()
    assert "\n" not in msg and "run.yaml" in msg
    assert expected in msg


def test_set_override(tmp_path):
    cfg = load_config(_write(tmp_path, BASE), ["train.max_steps=7", "methods=[sft, orpo]"])
    assert cfg.train.max_steps == 7 and [m.name for m in cfg.methods] == ["sft", "orpo"]


@pytest.mark.parametrize("text, expected", [
    (BASE.replace("[synthetic_arith]", "[synthetic_arithm]"), "unknown task 'synthetic_arithm'"),
    (BASE.replace("[dpo]", "[dpx]"), "unknown method 'dpx'"),
    (BASE + "data: {preference_extra: [{loader: hh_rlhf, path: nope.jsonl}]}\n", "nope.jsonl: data file not found"),
])
def test_cli_bad_input_exit_2_no_traceback(tmp_path, text, expected):
    cfg = _write(tmp_path, text + f"cache_dir: {tmp_path}/cache\nresults_dir: {tmp_path}/results\n")
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(cfg)], capture_output=True,
                          text=True, cwd=REPO)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and expected in lines[0]


def test_cli_missing_config_file():
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "no/such.yaml"], capture_output=True,
                          text=True, cwd=REPO)
    assert proc.returncode == 2 and "no/such.yaml: config file not found" in proc.stderr


def test_skip_bad_rows_flag_records_what_it_skipped(tmp_path):
    from harness.config import skip_bad_rows_everywhere
    from harness.data.prepare import prepare_data
    bad = REPO / "tests/bad_inputs/hh_prompt_mismatch.jsonl"
    text = BASE + ("data: {synthetic: {n_sft: 10, n_preference: 4, n_test: 2, max_value: 20},\n"
                   f"       preference_extra: [{{loader: hh_rlhf, path: {bad}}}]}}\n")
    cfg = load_config(_write(tmp_path, text))
    with pytest.raises(HarnessError) as err:
        prepare_data(cfg)
    assert "hh_prompt_mismatch.jsonl:" in err.value.one_line()
    data = prepare_data(skip_bad_rows_everywhere(cfg))
    report = data.summary["preference_extra[0]"]
    assert report["rows_dropped"] >= 1 and report["rows_read"] == report["rows_kept"] + report["rows_dropped"]


def test_baseline_must_be_a_row(tmp_path):
    with pytest.raises(HarnessError, match="baseline 'ipo' is not a method row"):
        load_config(_write(tmp_path, BASE + "baseline: ipo\n"))
