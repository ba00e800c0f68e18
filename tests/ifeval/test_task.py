"""The ifeval task and its four metrics: per-prompt scores whose means are the reference's four
accuracies, and the per-instruction table."""
import csv

import pytest

from harness.tasks import discover


@pytest.fixture(scope="module")
def task_and_samples():
    task = discover().get("ifeval")(n_prompts=40, max_new_tokens=64)
    return task, task.load()


def _answers(samples):
    texts = ["all lowercase words only here", "Yes, *Highlighted*.\n\nSECTION 1\nA title <<t>>", ""]
    return [[texts[i % 3]] for i in range(len(samples))]


def test_task_samples(task_and_samples):
    task, samples = task_and_samples
    assert len(samples) == 40 and len({s.id for s in samples}) == 40
    assert task.params_for(samples[0]).max_new_tokens == 64 and task.params_for(samples[0]).temperature == 0.0
    assert all(len(s.meta["instruction_id_list"]) == len(s.meta["kwargs"]) for s in samples)
    assert len(discover().get("ifeval")().load()) == 541


def test_metric_means_are_the_reference_accuracies(task_and_samples, tmp_path):
    import json

    from harness.ifeval.score_file import score_file
    from harness.scoring import score_answers
    task, samples = task_and_samples
    answers = _answers(samples)
    rows = score_answers(task, samples, answers, "m", 0)
    means = {}
    for name in task.metrics:
        values = [r["score"] for r in rows if r["metric"] == name]
        assert len(values) == 40 and all(r["status"] == "ok" for r in rows)
        means[name] = sum(values) / len(values)
    f = tmp_path / "r.jsonl"
    f.write_text("".join(json.dumps({"prompt": s.turns[0], "response": a[0]}) + "\n" for s, a in zip(samples, answers)))
    acc = score_file(f).accuracies()
    for metric, key in [("ifeval_prompt_strict", "prompt_level_strict"), ("ifeval_prompt_loose", "prompt_level_loose"),
                        ("ifeval_inst_strict", "inst_level_strict"), ("ifeval_inst_loose", "inst_level_loose")]:
        assert means[metric] == pytest.approx(100 * acc[key], abs=1e-9)
    assert 0 < means["ifeval_inst_loose"] < 100


def test_instruction_table(task_and_samples, tmp_path):
    task, samples = task_and_samples
    answers = _answers(samples)
    other = [[a[0].upper()] for a in answers]
    task.outputs(samples, {"base": answers, "dpo": other}, tmp_path, "dpo")
    rows = list(csv.DictReader(open(tmp_path / "ifeval_by_instruction.csv")))
    kinds = {i for s in samples for i in s.meta["instruction_id_list"]}
    assert {r["instruction"] for r in rows if r["level"] == "kind"} == kinds
    total = [r for r in rows if r["level"] == "all"]
    assert [r["model"] for r in total] == ["base", "dpo"]
    assert int(total[0]["n"]) == sum(len(s.meta["instruction_id_list"]) for s in samples)
    md = (tmp_path / "ifeval_by_instruction.md").read_text()
    assert "change against `dpo`" in md and "| change_case:english_capital |" in md
