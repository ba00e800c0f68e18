"""Regenerate the data files behind the lm-eval task YAML in this folder.

    .venv/bin/python tasks/lm_eval/build.py          # rewrites tasks/lm_eval/data/*.jsonl

The files are shipped, so `lm_eval run --include_path tasks/lm_eval ...` needs neither this script
nor the harness package; rerun it only after changing the harness's data code. The task YAML
loads them through `custom_dataset: !function utils.load_*`, which resolves the path from
utils.py's own location, so lm-eval works from any working directory (a relative
`dataset_kwargs.data_files` would be resolved against the CWD).

- data/synthetic_arith_test.jsonl: harness.data.synthetic.build(seed=0, n_sft=0, n_preference=0,
  n_test=100).test with the data defaults (n_ops 2, numbers up to 99, as in the quickstart) - the
  same 100 held-out problems as the harness task `synthetic_arith` of a seed-0 run with those
  settings. tests/test_lm_eval.py fails when the shipped file no longer matches.
- data/hh_rlhf_helpful_test40.jsonl: the first 40 usable rows of tasks/data/hh_rlhf/
  helpful-base-test.jsonl.gz (harness.data.hh_rlhf.load_hh_rlhf, skip_bad_rows=True); the
  reference is the chosen (human-preferred) final answer.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

N_ARITH = 100
N_HH = 40


def transcript(history: list[dict], question: str) -> str:
    """The dialogue as one user message: earlier turns in HH-RLHF's own Human/Assistant form,
    then the last human turn; a single-turn dialogue is just the question."""
    if not history:
        return question
    names = {"user": "Human", "assistant": "Assistant"}
    lines = [f"{names.get(m['role'], m['role'])}: {m['content']}" for m in history]
    return "\n\n".join([*lines, f"Human: {question}"])


def arith_rows() -> list[dict]:
    from harness.data import synthetic
    problems = synthetic.build(seed=0, n_sft=0, n_preference=0, n_test=N_ARITH).test
    return [{"id": f"arith-{i}", "question": p.question, "solution": synthetic.solution(p),
             "answer": str(p.answer)} for i, p in enumerate(problems)]


def hh_rows() -> list[dict]:
    from harness.data.hh_rlhf import load_hh_rlhf
    rows, _ = load_hh_rlhf(REPO / "tasks/data/hh_rlhf/helpful-base-test.jsonl.gz", skip_bad_rows=True,
                           limit=4 * N_HH)
    out = []
    for r in rows[:N_HH]:
        *history, last = r["prompt"]
        out.append({"id": r["id"], "history": history, "question": last["content"],
                    "prompt": transcript(history, last["content"]), "reference": r["chosen"][0]["content"]})
    if len(out) != N_HH:
        raise SystemExit(f"only {len(out)} usable HH-RLHF rows in the window")
    return out


def write(name: str, rows: list[dict]) -> Path:
    path = HERE / "data" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def main() -> None:
    for name, rows in (("synthetic_arith_test.jsonl", arith_rows()),
                       ("hh_rlhf_helpful_test40.jsonl", hh_rows())):
        print(f"{write(name, rows)}: {len(rows)} rows")


if __name__ == "__main__":
    main()
