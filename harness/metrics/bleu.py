"""BLEU-4 with sacrebleu (13a tokenisation, exponential smoothing for sentence scores)."""
from __future__ import annotations

from harness.metrics.base import Metric, metric
from harness.types import SampleScore


def _final(answers: list[str]) -> str:
    return answers[-1] if answers else ""


@metric
class BLEU4(Metric):
    name = "bleu4"

    def score(self, answers, samples):
        import sacrebleu  # imported when scoring, so listing metrics stays fast
        out = []
        for ans, s in zip(answers, samples):
            refs = s.references[-1:] if s.references else [""]
            value = sacrebleu.sentence_bleu(_final(ans), refs).score
            out.append(SampleScore(s.id, self.name, float(value)))
        return out

    def corpus(self, answers, samples):
        import sacrebleu
        hyps = [_final(a) for a in answers]
        refs = [s.references[-1] if s.references else "" for s in samples]
        return float(sacrebleu.corpus_bleu(hyps, [refs]).score)
