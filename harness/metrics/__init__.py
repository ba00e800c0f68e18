"""Metrics, one file each; importing registers them."""
from harness.metrics import bleu, exact_match, rouge  # noqa: F401
from harness.metrics.base import METRICS, Metric, metric

__all__ = ["METRICS", "Metric", "metric"]
