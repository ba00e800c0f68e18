"""Analyses of a run beyond its task scores: one file per analysis plus one registry line.

Two kinds (harness.analyses.base): a checkpoint analysis is a job of its own on every finished
checkpoint (token log-probs, DPOP Fig. 4); a training probe is a callback that measures the
policy while it trains (likelihood dynamics) and runs inside the training job. Each declares the
tables it writes; the run writes each as ``<results>/<table>.csv`` with ``model`` and ``seed``
columns in front. The config's ``analyses`` list names the ones a run computes (default: all).
Entries are "module:class", imported only when used, so validating a config imports no torch.
"""
from harness.registry import Registry, load_object

ANALYSES: Registry[str] = Registry("analysis")
ANALYSES.add("dynamics", "harness.analyses.dynamics:LikelihoodDynamics")
ANALYSES.add("token_logps", "harness.analyses.token_logps:TokenLogps")


def analysis(name: str):
    """The analysis registered as `name`, an instance."""
    return load_object(ANALYSES.get(name))()
