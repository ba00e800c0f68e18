"""Where a run's jobs execute (harness.jobs): one file per executor plus one registry line.

An executor takes the run's jobs and returns {job key: result}. Each entry is "module:class",
imported only when chosen, so the optional `ray` is never imported by a local run."""
from harness.registry import Registry

EXECUTORS: Registry[str] = Registry("executor")
EXECUTORS.add("local", "harness.executors.local:LocalExecutor")
EXECUTORS.add("ray", "harness.executors.ray:RayExecutor")
