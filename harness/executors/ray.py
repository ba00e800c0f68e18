"""The Ray executor: each job a Ray task with its resource request.

A job is submitted with the object references of the jobs it reads, so Ray starts it when they
are done and runs independent jobs in parallel. A worker that dies (killed, out of memory, a
lost node) has its job retried (`max_retries`); the job resumes from what its stage folder
holds, and a finished key is never recomputed. A job that raises is not retried: its error is
the run's error. Without an address a local Ray instance is started on 127.0.0.1; with one, the
cache folder must be on a filesystem every node sees.
"""
from __future__ import annotations

import importlib.util
import os
import socket
import time
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.executors.progress import job_bars
from harness.jobs import Job, JobContext, in_order

#: environment a job needs on a remote node (never secrets: judging runs in the driver)
FORWARDED_ENV = ("HF_", "HARNESS_", "TOKENIZERS_", "VLLM_", "TRANSFORMERS_")


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, log_dir: Path | None = None, max_retries: int = 3,
                 **_: Any) -> None:
        self.address = address
        self.log_dir = log_dir
        self.max_retries = max_retries
        self.wall_s: dict[str, float] = {}
        self._started = False

    def check(self) -> None:
        """Ray importable and the address answering, before any stage runs."""
        if importlib.util.find_spec("ray") is None:
            raise HarnessError("--executor ray needs Ray: pip install 'harness[ray]'")
        if self.address and self.address != "auto":
            host, _, port = self.address.removeprefix("ray://").rpartition(":")
            try:
                with socket.create_connection((host or "127.0.0.1", int(port)), timeout=5):
                    pass
            except (OSError, ValueError) as exc:
                raise HarnessError(f"Ray address {self.address} does not answer ({type(exc).__name__}: {exc}); "
                                   "give host:port of a running head node, or no address for a local "
                                   "instance") from None

    def _init(self):
        import ray
        if not ray.is_initialized():
            env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV)}
            if self.address:
                ray.init(address=self.address, log_to_driver=False, runtime_env={"env_vars": env})
            else:
                ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)
            self._started = True
        return ray

    def run(self, jobs: list[Job]) -> dict[str, Any]:
        ray = self._init()
        ordered = in_order(jobs)
        task = ray.remote(_run_job)
        refs, pending = {}, {}
        log = str((self.log_dir or Path("logs")).resolve() / "jobs.log")
        for job in ordered:
            r = job.resources
            options = {"num_cpus": r.cpus, "num_gpus": r.gpus, "max_retries": self.max_retries,
                       "retry_exceptions": False, "name": job.name}
            if r.memory_gib:
                options["memory"] = int(r.memory_gib * 2**30)
            ref = task.options(**options).remote(job, os.getcwd(), log, *[refs[k] for k in job.after])
            refs[job.key], pending[ref] = ref, job
        results: dict[str, Any] = {}
        with job_bars(ordered) as bars:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(done[0])
                try:
                    results[job.key], self.wall_s[job.key] = ray.get(done[0])
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, HarnessError):
                        raise cause from None
                    raise HarnessError(f"job {job.name} failed on Ray ({type(cause or exc).__name__}: "
                                       f"{str(cause or exc).splitlines()[-1][:300]}); details in {log}") from None
                except ray.exceptions.RayError as exc:  # retries exhausted, node lost
                    raise HarnessError(f"job {job.name} failed on Ray after {self.max_retries} retries "
                                       f"({type(exc).__name__}); rerun to resume") from None
                bars.finish(job)
        return results

    def close(self) -> None:
        if self._started:
            import ray
            ray.shutdown()
            self._started = False


def _run_job(job: Job, cwd: str, log: str, *_upstream: Any) -> tuple[Any, float]:
    """A job on a Ray worker: in the driver's working directory (configs name relative paths), its
    output appended to the run's jobs.log, generation engines closed when it ends. Returns the
    job's result and its wall time on the worker."""
    from harness.console import all_output_to
    os.chdir(cwd)
    ctx = JobContext()
    t0 = time.time()
    with all_output_to(Path(log)):
        try:
            return job.run(ctx), round(time.time() - t0, 2)
        finally:
            ctx.close()
