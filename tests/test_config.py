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
    assert cfg.training_seeds == [0, 1, 2]


@pytest.mark.parametrize("text, expected", [
    (BASE.replace("[dpo]", "[dpoo]"), "methods[0]: unknown method 'dpoo' (did you mean 'dpo'?); valid:"),
    (BASE.replace("[dpo]", "[{name: dpop, params: {beta: -1}}]"), "methods[0] (dpop): beta: must be > 0"),
    (BASE.replace("[dpo]", "[{name: dpop, params: {lamda: 5}}]"), "methods[0] (dpop).lamda: unknown hyper-parameter"),
    (BASE.replace("run_name: t\n", ""), "run_name: field required"),
    (BASE + "trian: {max_steps: 3}\n", "trian: unknown field"),
    (BASE + "train: {max_steps: many}\n", "train.max_steps: input should be a valid integer"),
    (BASE + "train: {learning_rate: -1}\n", "train.learning_rate: input should be greater than 0"),
    ("run_name: [unclosed\n", "invalid YAML"),
    (BASE + "generation: {backend: vlm}\n",
     "generation.backend: unknown generation backend 'vlm' (did you mean 'vllm'?); valid: auto, hf, vllm"),
    (BASE + "data: {preference_extra: [{loader: ultrafeedbak, path: x.jsonl}]}\n",
     "data.preference_extra[0].loader: unknown data loader 'ultrafeedbak' (did you mean 'ultrafeedback'?); valid: generic,"),
    (BASE + "seeds: [0, 1, 0]\n", "seeds: seeds repeat a value: [0, 1, 0]"),
    (BASE + "seeds: []\n", "seeds: list should have at least 1 item"),
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


@pytest.mark.parametrize("text, expected", [
    (BASE.replace("[dpo]", "[{name: dpo, train: {learning_rat: 1.0e-5}}]"),
     "methods[0] (dpo).train.learning_rat: unknown field"),
    (BASE.replace("[dpo]", "[{name: dpo, train: {learning_rate: 0}}]"),
     "methods[0] (dpo).train.learning_rate: input should be greater than 0"),
    (BASE + "train: {optimizer: adamw_fast}\n", "train.optimizer: unknown optimizer 'adamw_fast'"),
    (BASE + "train: {lr_scheduler: triangle}\n", "train.lr_scheduler: unknown scheduler 'triangle'"),
    (BASE + "train: {max_steps: 5, num_epochs: 1}\n", "train: set max_steps or num_epochs, not both"),
    (BASE + "train: {warmup_steps: 5, warmup_ratio: 0.1}\n", "set warmup_steps or warmup_ratio, not both"),
    (BASE + "train: {adam_beta2: 1.5}\n", "train.adam_beta2: input should be less than 1"),
    (BASE + "train: {gradient_accumulation_steps: 0}\n", "train.gradient_accumulation_steps: input should be"),
    (BASE + "peft: {r: 0}\n", "peft.r: input should be greater than or equal to 1"),
    (BASE + "peft: {target_modules: [q_proj, attn]}\n", "peft.target_modules: the model has no module named 'attn'"),
    (BASE.replace("model: {embedded:", "model: {path: somewhere, embedded:"),
     "model: set either model.embedded or model.path (one of them)"),
])
def test_bad_training_surface_one_line(tmp_path, text, expected):
    with pytest.raises(HarnessError) as err:
        load_config(_write(tmp_path, text))
    msg = err.value.one_line()
    assert "\n" not in msg and "run.yaml" in msg
    assert expected in msg


def test_optimizer_and_scheduler_names_are_transformers_own():
    """harness.config keeps a copy of the names (importing transformers.training_args to check a
    config costs seconds): the copy is the installed transformers' list, no more, no less."""
    from transformers.trainer_utils import SchedulerType
    from transformers.training_args import OptimizerNames

    from harness.config import OPTIMIZERS, SCHEDULERS
    assert OPTIMIZERS == tuple(n.value for n in OptimizerNames)
    assert SCHEDULERS == tuple(n.value for n in SchedulerType)


def test_per_method_train_overrides_and_epochs(tmp_path):
    text = BASE.replace("[dpo]", "[dpo, {name: asft, train: {learning_rate: 3.0e-5, num_epochs: 2}}]")
    cfg = load_config(_write(tmp_path, text + "train: {max_steps: 7, learning_rate: 1.0e-4, weight_decay: 0.1}\n"))
    dpo, asft = (cfg.train_for(m) for m in cfg.methods)
    assert (dpo.learning_rate, dpo.max_steps, dpo.num_epochs, dpo.weight_decay) == (1e-4, 7, None, 0.1)
    assert (asft.learning_rate, asft.max_steps, asft.num_epochs, asft.weight_decay) == (3e-5, None, 2, 0.1)


def test_training_arguments_reach_trl(tmp_path):
    from harness.config import TrainSpec
    from harness.train.runner import dpo_args
    spec = TrainSpec(max_steps=12, batch_size=3, gradient_accumulation_steps=4, gradient_checkpointing=True,
                     optimizer="adafactor", lr_scheduler="cosine", weight_decay=0.05, adam_beta1=0.8,
                     adam_beta2=0.95, max_grad_norm=0.5, warmup_ratio=0.25, max_length=64)
    args = dpo_args(tmp_path, spec, seed=3, precompute=True)
    assert (args.max_steps, args.per_device_train_batch_size, args.gradient_accumulation_steps) == (12, 3, 4)
    assert args.gradient_checkpointing and args.optim == "adafactor" and args.lr_scheduler_type == "cosine"
    assert (args.weight_decay, args.adam_beta1, args.adam_beta2, args.max_grad_norm) == (0.05, 0.8, 0.95, 0.5)
    assert args.get_warmup_steps(12) == 3 and args.max_length == 64 and args.seed == 3
    epochs = dpo_args(tmp_path, TrainSpec(num_epochs=2.5), seed=0, precompute=True)
    assert epochs.max_steps == -1 and epochs.num_train_epochs == 2.5
