"""Hooks for the harness's lm-eval task YAML (loaded by lm-eval from this folder by path).

Self-contained (sacrebleu, rouge-score, datasets; no `harness` import) so the folder also works
with a plain `lm_eval` install. Metric definitions match the harness's own metrics
(harness/metrics/), on the same 0-100 scale:

- exact_match: 100 if the last "ans <int>" in the answer equals the gold answer, else 0;
- bleu4: sacrebleu sentence BLEU (13a, exponential smoothing) against the reference;
- rougeL: rouge-score ROUGE-L F-measure (Porter stemming) x 100.

Each is a per-sample value aggregated by the mean (lm-eval's `--log_samples` keeps the
per-sample values, which `harness lm-eval` turns into bootstrap-ready rows).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
_ANSWER = re.compile(r"ans\s*(-?\d+)")


def _load(name: str):
    import datasets
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def load_synthetic_arith(**_metadata):
    """lm-eval calls custom_dataset with the task metadata as keyword arguments: ignored."""
    return _load("synthetic_arith_test.jsonl")


def load_hh_rlhf_gen(**_metadata):
    return _load("hh_rlhf_helpful_test40.jsonl")


def extract_answer(text: str) -> str | None:
    found = _ANSWER.findall(text)
    return found[-1] if found else None


def bleu4(prediction: str, reference: str) -> float:
    import sacrebleu
    return float(sacrebleu.sentence_bleu(prediction, [reference]).score)


def rouge_l(prediction: str, reference: str) -> float:
    from rouge_score import rouge_scorer
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return float(scorer.score(reference, prediction)["rougeL"].fmeasure * 100.0)


def _text(results) -> str:
    return (results[0] if results else "") or ""


def process_arith(doc: dict, results: list[str]) -> dict[str, float]:
    pred = _text(results).strip()
    return {"exact_match": 100.0 if extract_answer(pred) == str(doc["answer"]) else 0.0,
            "bleu4": bleu4(pred, doc["solution"]), "rougeL": rouge_l(pred, doc["solution"])}


def process_text(doc: dict, results: list[str]) -> dict[str, float]:
    pred = _text(results).strip()
    return {"bleu4": bleu4(pred, doc["reference"]), "rougeL": rouge_l(pred, doc["reference"])}
