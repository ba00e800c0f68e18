"""Metrics, one file each; importing registers them."""
from harness.metrics import bleu, exact_match, ifeval, mt_bench, rouge  # noqa: F401
from harness.metrics.base import METRICS, JudgedMetric, Metric, is_judged, judge_groups, metric

__all__ = ["METRICS", "JudgedMetric", "Metric", "is_judged", "judge_groups", "metric"]
