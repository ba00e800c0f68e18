"""`--set` addresses nested fields and list items (`methods[1].params.beta=0.2`), or says why not."""
import pytest

from harness.config import load_config
from harness.errors import HarnessError

BASE = """run_name: t
model: {embedded: {vocab_size: 300, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}}
methods: [sft, {name: dpo, params: {beta: 0.1}}]
tasks: [synthetic_arith]
train: {max_steps: 5, batch_size: 8}
"""


@pytest.fixture
def cfg_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(BASE)
    return path


def test_list_items_and_nested_fields(cfg_file):
    cfg = load_config(cfg_file, ["methods[1].params.beta=0.2", "methods[0].label=plain_sft",
                                 "tasks[0].options.n_samples=7", "train={max_steps: 9}", "seed=3"])
    assert cfg.methods[1].params == {"beta": 0.2}
    assert (cfg.methods[0].name, cfg.methods[0].label) == ("sft", "plain_sft")  # "sft" was shorthand
    assert cfg.tasks[0].options == {"n_samples": 7}
    assert (cfg.train.max_steps, cfg.train.batch_size) == (9, 8)  # a mapping merges
    assert cfg.seed == 3


def test_a_whole_list_item_can_be_replaced(cfg_file):
    cfg = load_config(cfg_file, ["methods[0]={name: ipo, params: {beta: 0.5}}"])
    assert [(m.name, m.params) for m in cfg.methods] == [("ipo", {"beta": 0.5}), ("dpo", {"beta": 0.1})]


@pytest.mark.parametrize("override, message", [
    ("methods[2].params.beta=0.2", "--set methods[2].params.beta: methods has 2 item(s), no [2]"),
    ("train[0]=1", "--set train[0]: train is not a list"),
    ("methods.beta=1", "--set methods.beta: methods is not a mapping"),
    ("analyses_x[0]=1", "--set analyses_x[0]: analyses_x is not in the config"),
    ("methods[one].beta=1", "--set methods[one].beta: cannot read 'methods[one]'"),
    ("methods[1].params.beta", "--set expects key=value"),
])
def test_bad_overrides_are_one_line_errors(cfg_file, override, message):
    with pytest.raises(HarnessError) as err:
        load_config(cfg_file, [override])
    assert message in err.value.one_line()


def test_a_bad_value_set_on_a_list_item_names_the_field(cfg_file):
    with pytest.raises(HarnessError, match=r"methods\[1\] \(dpo\): beta: must be > 0"):
        load_config(cfg_file, ["methods[1].params.beta=-1"])
