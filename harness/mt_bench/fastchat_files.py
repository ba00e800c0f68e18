"""FastChat's MT-Bench file formats (fastchat/llm_judge): ``question.jsonl``,
``model_answer/<model>.jsonl`` (here also ``.jsonl.gz``), ``reference_answer/gpt-4.jsonl`` and
``model_judgment/*.jsonl``, with the answer temperatures per category.

FastChat's own loaders (fastchat.llm_judge.common) are not used at run time: importing that
module takes 8 s here (it imports torch, accelerate, openai and anthropic), its
`load_model_answers` reads a folder only and no gzip, and both loaders accept any row (a
malformed one is a KeyError deep inside judging). Ours name the file, row and field of a bad
row; the tests use FastChat's as the oracle on the shipped files.
"""
from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from harness.errors import HarnessError
from harness.mt_bench.prompts import MT_BENCH_DIR
from harness.store import atomic_write_text, digest_json, read_jsonl
from harness.types import Sample

QUESTION_FILE = MT_BENCH_DIR / "question.jsonl"
REFERENCE_FILE = MT_BENCH_DIR / "reference_answer" / "gpt-4.jsonl"
MODEL_ANSWER_DIR = MT_BENCH_DIR / "model_answer"

# fastchat.llm_judge.common.temperature_config; other categories get 0.7 (gen_model_answer.py).
TEMPERATURE_BY_CATEGORY: dict[str, float] = {
    "writing": 0.7,
    "roleplay": 0.7,
    "extraction": 0.0,
    "math": 0.0,
    "coding": 0.0,
    "reasoning": 0.0,
    "stem": 0.1,
    "humanities": 0.1,
    "arena-hard-200": 0.0,
}
DEFAULT_TEMPERATURE = 0.7


def temperature_for(category: str) -> float:
    """FastChat's answer-generation temperature for an MT-Bench category."""
    return TEMPERATURE_BY_CATEGORY.get(category, DEFAULT_TEMPERATURE)


def as_question_id(x: Any) -> Any:
    """Question ids are ints in FastChat's files; a harness Sample's id is a string."""
    if isinstance(x, str) and x.strip().lstrip("-").isdigit():
        return int(x)
    return x



def read_fastchat_jsonl(path: Path) -> list[dict]:
    """A FastChat JSONL file (.jsonl or .jsonl.gz) that must exist and be whole."""
    if not path.exists():
        raise HarnessError("file not found", file=path)
    return read_jsonl(path, tolerate_partial_tail=False)


def load_questions(path: str | Path | None = None, begin: int | None = None,
                   end: int | None = None) -> list[dict]:
    """FastChat's ``load_questions``: question dicts (question_id, category, turns, ...)."""
    p = Path(path or QUESTION_FILE)
    rows = read_fastchat_jsonl(p)
    for i, q in enumerate(rows, 1):
        for field in ("question_id", "category", "turns"):
            if field not in q:
                raise HarnessError("missing field", file=p, row=i, field=field)
        if not isinstance(q["turns"], list) or not q["turns"]:
            raise HarnessError("must be a non-empty list", file=p, row=i, field="turns")
    return rows[begin:end]


def model_name(path: Path) -> str:
    name = path.name
    for suffix in (".jsonl.gz", ".jsonl"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _answer_file(path: Path) -> dict[Any, list[str]]:
    answers: dict[Any, list[str]] = {}
    for i, row in enumerate(read_fastchat_jsonl(path), 1):
        try:
            turns = row["choices"][0]["turns"]
            qid = row["question_id"]
        except (KeyError, IndexError, TypeError):
            raise HarnessError("not a FastChat model_answer row (question_id, "
                               "choices[0].turns)", file=path, row=i) from None
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            raise HarnessError("must be a list of strings", file=path, row=i,
                               field="choices[0].turns")
        answers[as_question_id(qid)] = list(turns)  # a later line wins, as in FastChat
    return answers


def load_model_answers(path_or_dir: str | Path | None = None) -> dict[str, dict[Any, list[str]]]:
    """{model: {question_id: [turn answers]}} from FastChat model_answer files.

    A directory: every ``*.jsonl`` / ``*.jsonl.gz`` in it, the model named after the file as in
    FastChat. A file: that model only. ``choices[0]`` is used, as FastChat's judge does.
    """
    p = Path(path_or_dir or MODEL_ANSWER_DIR)
    if p.is_dir():
        files = sorted([*p.glob("*.jsonl"), *p.glob("*.jsonl.gz")])
        if not files:
            raise HarnessError("no *.jsonl or *.jsonl.gz model answer files", file=p)
    elif p.exists():
        files = [p]
    else:
        raise HarnessError("model answer file or folder not found", file=p)
    out: dict[str, dict[Any, list[str]]] = {}
    for f in files:
        name = model_name(f)
        if name in out:
            raise HarnessError(f"two answer files for model {name!r}", file=f)
        out[name] = _answer_file(f)
    return out


def load_reference_answers(path: str | Path | None = None) -> dict[Any, list[str]]:
    """{question_id: [reference turns]}; default: FastChat's gpt-4 references (30 questions)."""
    answers = load_model_answers(Path(path or REFERENCE_FILE))
    return next(iter(answers.values()))


def load_samples(question_path: str | Path | None = None,
                 reference_path: str | Path | None = None) -> list[Sample]:
    """MT-Bench questions as harness Samples (id = str(question_id), references per turn for
    reference-graded categories, meta carries question_id and the answer temperature)."""
    refs = load_reference_answers(reference_path)
    samples = []
    for q in load_questions(question_path):
        qid = q["question_id"]
        samples.append(Sample(
            id=str(qid), turns=list(q["turns"]), references=list(refs.get(qid, [])),
            category=q["category"],
            meta={"question_id": qid, "temperature": temperature_for(q["category"])}))
    return samples


def write_model_answers(path: str | Path, model_id: str,
                        answers: Mapping[Any, Sequence[str]]) -> Path:
    """Write FastChat's model_answer format (sorted by question id, one row per question, as
    after ``reorg_answer_file``); ``.gz`` paths are gzipped. Atomic."""
    p = Path(path)
    now = time.time()
    lines = []
    for qid in sorted(answers, key=lambda x: (str(type(as_question_id(x))), as_question_id(x))):
        turns = [str(t) for t in answers[qid]]
        answer_id = digest_json([model_id, str(qid), turns], length=22)
        lines.append(json.dumps({"question_id": as_question_id(qid), "answer_id": answer_id,
                                 "model_id": model_id,
                                 "choices": [{"index": 0, "turns": turns}], "tstamp": now}))
    text = "".join(line + "\n" for line in lines)
    if p.name.endswith(".gz"):
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as f:
            f.write(text)
        tmp.replace(p)
    else:
        atomic_write_text(p, text)
    return p


def record_key(rec: dict) -> tuple:
    """The identity of a judgment record: question, model(s), turn, judge."""
    judge = tuple(rec.get("judge") or ())
    if "model" in rec:
        return (str(rec["question_id"]), rec["model"], rec.get("turn", 1), *judge)
    return (str(rec["question_id"]), rec["model_1"], rec["model_2"], rec.get("turn", 1), *judge)


def dedupe(records: list[dict]) -> list[dict]:
    last: dict[tuple, dict] = {}
    for r in records:
        last.pop(record_key(r), None)  # re-insert: order of last appearance
        last[record_key(r)] = r
    return list(last.values())


def load_judgments(path: str | Path) -> list[dict]:
    """Judgment records of a file, one per judgment (the last one written wins)."""
    return dedupe(read_jsonl(Path(path)))
