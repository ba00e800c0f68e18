"""harness: one config, one command to train, generate, score and rank preference-alignment methods."""
from harness.errors import HarnessError
from harness.methods.base import Method, Params, method
from harness.metrics.base import Metric, metric
from harness.tasks import task
from harness.types import GenerateParams, Sample, SampleScore, Task

__version__ = "0.1.0"
__all__ = ["GenerateParams", "HarnessError", "Method", "Metric", "Params", "Sample", "SampleScore",
           "Task", "method", "metric", "task"]
