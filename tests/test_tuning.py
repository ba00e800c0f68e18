"""Grids and the tuning budget (harness.tuning): expansion, sampling, config errors, the choice."""
import pytest

from harness.config import load_config
from harness.data import synthetic
from harness.errors import HarnessError
from harness.tuning import budget, choose, grid_points, point_label, points_tried

BASE = """run_name: t
model: {embedded: {vocab_size: 300, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}}
data: {synthetic: {n_sft: 40, n_preference: 10, n_test: 5, n_dev: 5, max_value: 20}}
tasks: [synthetic_arith]
"""
TUNING = "tuning: {task: {name: synthetic_arith, options: {split: dev}}, metric: exact_match}\n"


def _cfg(tmp_path, methods: str, extra: str = TUNING):
    p = tmp_path / "run.yaml"
    p.write_text(BASE + f"methods: {methods}\n" + extra)
    return load_config(p)


def test_grid_is_the_product_of_params_and_train_lists(tmp_path):
    cfg = _cfg(tmp_path, "[{name: dpo, params: {beta: [0.1, 0.3]}, train: {learning_rate: [1.0e-4, 2.0e-4, 5.0e-4]}},"
                         " {name: asft, params: {lambda_: [0.1, 0.2, 0.5, 1.0, 2.0, 4.0]}}]")
    dpo, asft = cfg.methods
    points = grid_points(dpo)
    assert len(points) == 6 and budget(cfg) == 6
    assert [point_label(dpo, p) for p in points[:3]] == [
        "beta=0.1,learning_rate=0.0001", "beta=0.1,learning_rate=0.0002", "beta=0.1,learning_rate=0.0005"]
    assert cfg.train_for(points[2]).learning_rate == 5e-4 and points[2].params == {"beta": 0.1}
    assert points[0].row == "dpo"


def test_a_larger_grid_is_sampled_to_the_budget_seeded(tmp_path):
    methods = "[{name: dpo, params: {beta: [0.1, 0.3]}}, {name: asft, params: {lambda_: [0.1, 0.2, 0.5, 1.0, 2.0]}}]"
    cfg = _cfg(tmp_path, methods, TUNING.replace("}\n", ", budget: 2}\n"))
    asft = cfg.methods[1]
    tried = [point_label(asft, p) for p in points_tried(cfg, asft)]
    assert len(tried) == 2 and tried == [point_label(asft, p) for p in points_tried(cfg, asft)]
    all_labels = [point_label(asft, p) for p in grid_points(asft)]
    assert tried == sorted(tried, key=all_labels.index)  # kept in grid order
    draws = {tuple(point_label(asft, p) for p in points_tried(cfg.model_copy(update={"seed": s}), asft))
             for s in range(10)}
    assert len(draws) > 1  # a random subset per run seed, not always the first points
    assert len(points_tried(cfg, cfg.methods[0])) == 2


@pytest.mark.parametrize("methods, extra, expected", [
    ("[{name: dpo, params: {beta: [0.1, 0.3]}}]", "",
     "methods[0]: dpo has a grid of 2 points: add a tuning: section"),
    ("[sft, {name: dpo, params: {beta: [0.1, 0.3]}}]", TUNING,
     "methods[0]: sft has 1 grid point(s), the budget is 2 per method"),
    ("[{name: dpo, params: {beta: [0.1, -1.0]}}]", TUNING, "methods[0] (dpo): beta: must be > 0"),
    ("[{name: dpo, train: {learning_rate: [1.0e-4, -1]}}]", TUNING,
     "methods[0] (dpo).train.learning_rate: input should be greater than 0"),
])
def test_bad_grid_one_line(tmp_path, methods, extra, expected):
    with pytest.raises(HarnessError) as err:
        _cfg(tmp_path, methods, extra)
    assert expected in err.value.one_line() and "run.yaml" in err.value.one_line()


def test_unequal_budget_only_when_asked(tmp_path):
    cfg = _cfg(tmp_path, "[sft, {name: dpo, params: {beta: [0.1, 0.3]}}]",
               TUNING.replace("}\n", ", unequal_budget: true}\n"))
    assert [len(points_tried(cfg, m)) for m in cfg.methods] == [1, 2]


def test_choice_is_the_best_dev_mean_ties_to_the_first_point():
    assert choose("dpo", {"beta=0.1": 40.0, "beta=0.3": 55.0, "beta=0.5": 50.0}, "max").chosen == "beta=0.3"
    assert choose("dpo", {"beta=0.1": 40.0, "beta=0.3": 55.0}, "min").chosen == "beta=0.1"
    tie = choose("dpo", {"beta=0.1": 50.0, "beta=0.3": 50.0}, "max")
    assert tie.chosen == "beta=0.1" and tie.tried == 2
    with pytest.raises(HarnessError, match="no dev score"):
        choose("dpo", {}, "max")


def test_dev_problems_are_disjoint_and_leave_other_splits_unchanged():
    with_dev = synthetic.build(seed=2, n_sft=60, n_preference=20, n_test=15, n_dev=10, max_value=20)
    without = synthetic.build(seed=2, n_sft=60, n_preference=20, n_test=15, max_value=20)
    assert with_dev.test == without.test and with_dev.preference == without.preference
    assert with_dev.sft == without.sft and len(with_dev.dev) == 10
    seen = {p.question for p in with_dev.test} | {r["prompt"][0]["content"] for r in with_dev.preference}
    seen |= {r["messages"][0]["content"] for r in with_dev.sft}
    assert not seen & {p.question for p in with_dev.dev}


def test_dev_split_of_the_task_needs_dev_problems(tmp_path):
    from harness.tasks import discover
    cfg = _cfg(tmp_path, "[dpo]", "")
    factory = discover().get("synthetic_arith")
    dev = factory(run_config=cfg, split="dev").load()
    assert [s.id for s in dev] == [f"arith-dev-{i}" for i in range(5)]
    assert not {s.turns[0] for s in dev} & {s.turns[0] for s in factory(run_config=cfg).load()}
    no_dev = cfg.model_copy(update={"data": cfg.data.model_copy(update={
        "synthetic": cfg.data.synthetic.model_copy(update={"n_dev": 0})})})
    with pytest.raises(TypeError, match="n_dev"):
        factory(run_config=no_dev, split="dev")
