"""IFEval (Zhou et al. 2023): the prompts, the reference's scoring, the per-instruction table and
`harness ifeval score`. Heavy imports (lm-eval, NLTK, langdetect) happen on first use."""
