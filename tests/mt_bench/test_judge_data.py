"""MT-Bench data: questions, the three published models' answers, references, answer writing."""
from __future__ import annotations

import gzip
import json
import shutil

import pytest

from harness.errors import HarnessError
from harness.mt_bench.fastchat_files import (MODEL_ANSWER_DIR, TEMPERATURE_BY_CATEGORY, load_model_answers, load_questions,
                                 load_reference_answers, load_samples, temperature_for, write_model_answers)
from harness.mt_bench.prompts import MT_BENCH_DIR


def test_shipped_files_and_licence():
    for rel in ("LICENSE", "SOURCE.md", "question.jsonl", "judge_prompts.jsonl",
                "reference_answer/gpt-4.jsonl", "model_answer/SOURCE.md"):
        assert (MT_BENCH_DIR / rel).is_file(), rel


def test_questions():
    qs = load_questions()
    assert len(qs) == 80
    assert all(len(q["turns"]) == 2 for q in qs)
    assert [q["question_id"] for q in qs] == list(range(81, 161))
    assert load_questions(begin=0, end=5) == qs[:5]


def test_three_published_model_answers_load_as_they_are():
    answers = load_model_answers()
    assert sorted(answers) == ["gpt-3.5-turbo", "llama-13b", "vicuna-13b-v1.3"]
    qids = {q["question_id"] for q in load_questions()}
    for model, by_q in answers.items():
        assert set(by_q) == qids, model
        assert all(len(t) == 2 and all(isinstance(x, str) for x in t)
                   for t in by_q.values()), model
    one = load_model_answers(MODEL_ANSWER_DIR / "llama-13b.jsonl.gz")
    assert list(one) == ["llama-13b"] and one["llama-13b"] == answers["llama-13b"]
    with gzip.open(MODEL_ANSWER_DIR / "vicuna-13b-v1.3.jsonl.gz", "rt") as f:
        first = json.loads(f.readline())
    assert answers["vicuna-13b-v1.3"][first["question_id"]] == first["choices"][0]["turns"]


def test_uncompressed_dir_and_later_line_wins(tmp_path):
    shutil.copy(MODEL_ANSWER_DIR / "llama-13b.jsonl.gz", tmp_path / "llama-13b.jsonl.gz")
    rows = [{"question_id": 81, "answer_id": "x", "model_id": "m", "tstamp": 0,
             "choices": [{"index": 0, "turns": ["old", "old2"]}]},
            {"question_id": 81, "answer_id": "y", "model_id": "m", "tstamp": 1,
             "choices": [{"index": 0, "turns": ["new", "new2"]}]}]
    (tmp_path / "my-model.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    answers = load_model_answers(tmp_path)
    assert sorted(answers) == ["llama-13b", "my-model"]
    assert answers["my-model"] == {81: ["new", "new2"]}


def test_bad_answer_file_names_row(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"question_id": 81, "choices": [{"index": 0, "turns": ["a"]}]}\n'
                 '{"question_id": 82, "turns": ["a"]}\n')
    with pytest.raises(HarnessError) as e:
        load_model_answers(p)
    assert e.value.row == 2
    with pytest.raises(HarnessError):
        load_model_answers(tmp_path / "missing")


def test_references_and_samples():
    refs = load_reference_answers()
    assert sorted(refs) == list(range(101, 131))  # reasoning, math, coding
    samples = load_samples()
    assert len(samples) == 80 and samples[0].id == "81"
    by_id = {s.id: s for s in samples}
    assert by_id["111"].category == "math" and by_id["111"].references == refs[111]
    assert by_id["81"].references == [] and by_id["81"].meta["temperature"] == 0.7


def test_temperatures_are_fastchats():
    # the table itself is compared with FastChat's in tests/mt_bench/test_judge_prompts.py
    assert temperature_for("math") == TEMPERATURE_BY_CATEGORY["math"] == 0.0
    assert temperature_for("unknown") == 0.7  # gen_model_answer.py default


@pytest.mark.parametrize("name", ["out/my-model.jsonl", "out/my-model.jsonl.gz"])
def test_write_model_answers_roundtrip(tmp_path, name):
    answers = {82: ["b1", "b2"], 81: ["a1 {x}", "a2"]}
    p = write_model_answers(tmp_path / name, "my-model", answers)
    assert load_model_answers(p) == {"my-model": {81: ["a1 {x}", "a2"], 82: ["b1", "b2"]}}
    opener = gzip.open if name.endswith(".gz") else open
    with opener(p, "rt") as f:
        rows = [json.loads(line) for line in f]
    assert [r["question_id"] for r in rows] == [81, 82]
    assert set(rows[0]) == {"question_id", "answer_id", "model_id", "choices", "tstamp"}
    assert rows[0]["model_id"] == "my-model"
    assert rows[0]["choices"] == [{"index": 0, "turns": ["a1 {x}", "a2"]}]
