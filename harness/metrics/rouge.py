"""ROUGE-L F-measure with rouge-score (Porter stemming), reported on a 0-100 scale."""
from __future__ import annotations

from harness.metrics.base import Metric, metric
from harness.metrics.bleu import _final
from harness.types import SampleScore


@metric
class RougeL(Metric):
    name = "rougeL"

    def score(self, answers, samples):
        from rouge_score import rouge_scorer  # imports nltk, scipy and scikit-learn: only when scoring
        scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
        out = []
        for ans, s in zip(answers, samples):
            ref = s.references[-1] if s.references else ""
            value = scorer.score(ref, _final(ans))["rougeL"].fmeasure * 100.0
            out.append(SampleScore(s.id, self.name, float(value)))
        return out
