"""`harness ifeval score FILE [--json] [--out DIR]`, in process (typer's runner)."""
import json

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.ifeval.data import load_prompts

PROMPTS = load_prompts()


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _invoke(*args):
    return CliRunner().invoke(app, ["ifeval", "score", *map(str, args)])


@pytest.fixture
def responses(tmp_path):
    """Answers to 12 prompts that follow some instructions and not others."""
    rows = []
    for i, p in enumerate(PROMPTS[:12]):
        text = "this is a short answer without any commas" if i % 2 else "Yes, *this*, Is An Answer.\nP.S. bye"
        rows.append({"prompt": p.prompt, "response": text})
    return _write(tmp_path / "responses.jsonl", rows)


def test_json_gives_the_four_accuracies(responses):
    from harness.ifeval.score_file import score_file
    result = _invoke(responses, "--json")
    assert result.exit_code == 0, result.output
    acc = json.loads(result.stdout)
    assert list(acc) == ["prompt_level_strict", "prompt_level_loose", "inst_level_strict", "inst_level_loose"]
    scored = score_file(responses)
    n_inst = sum(len(p.instruction_id_list) for p in PROMPTS[:12])
    assert acc["prompt_level_strict"] == sum(v.follow_all_instructions for v in scored.strict) / 12
    assert acc["inst_level_loose"] == sum(sum(v.follow_instruction_list) for v in scored.loose) / n_inst
    assert 0 < acc["inst_level_loose"] < 1 and acc["prompt_level_strict"] <= acc["prompt_level_loose"]


def test_out_writes_the_references_per_prompt_files(responses, tmp_path):
    from harness.ifeval.scorer import judge
    out = tmp_path / "out"
    result = _invoke(responses, "--out", out)
    assert result.exit_code == 0, result.output
    assert "prompt_level_strict" in result.stdout
    for mode in ("strict", "loose"):
        rows = [json.loads(line) for line in (out / f"eval_results_{mode}.jsonl").read_text().splitlines()]
        assert [r["prompt"] for r in rows] == [p.prompt for p in PROMPTS[:12]]
        assert list(rows[0]) == ["follow_all_instructions", "follow_instruction_list", "instruction_id_list",
                                 "prompt", "response"]
        for r, p in zip(rows, PROMPTS[:12]):
            assert r["follow_instruction_list"] == list(judge(p, r["response"], mode == "loose").follow_instruction_list)
    assert (out / "ifeval_by_instruction.csv").exists()


def test_unknown_prompt_is_named_in_one_line_and_left_out(tmp_path):
    f = _write(tmp_path / "mixed.jsonl", [{"prompt": PROMPTS[0].prompt, "response": "hi"},
                                          {"prompt": "Not an IFEval prompt at all", "response": "x"}])
    result = _invoke(f, "--json")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "left out" in line]
    assert len(lines) == 1 and f"{f}:2:" in lines[0] and "Not an IFEval prompt" in lines[0]
    assert json.loads(result.stdout)["prompt_level_strict"] == 0.0


@pytest.mark.parametrize("rows, expected", [
    ([{"prompt": "Not an IFEval prompt", "response": "x"}], "no row's prompt is one of IFEval's 541"),
    ([{"prompt": PROMPTS[0].prompt}], ":1: response: expected a string"),
    ([{"prompt": PROMPTS[0].prompt, "response": "a"}, {"prompt": PROMPTS[0].prompt, "response": "b"}],
     ":2: prompt: the same prompt as row 1"),
])
def test_bad_files_exit_2_with_one_line(tmp_path, rows, expected):
    f = _write(tmp_path / "bad.jsonl", rows)
    result = _invoke(f)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and expected in result.stderr and result.stderr.count("\n") == 1
