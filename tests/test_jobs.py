"""The job DAG (harness.jobs) and the local executor, in this process and in child processes."""
import os
import pickle

import pytest

from harness.errors import HarnessError
from harness.executors.local import LocalExecutor
from harness.jobs import Job, in_order


def record(ctx, tag: str, log: list | None = None) -> dict:
    """A job: its tag and the process it ran in."""
    if log is not None:
        log.append(tag)
    return {"tag": tag, "pid": os.getpid()}


def fail(ctx) -> None:
    raise HarnessError("bad row", file="data.jsonl", row=3, field="chosen")


def _dag(log=None) -> list[Job]:
    return [Job("train/b", "train:b", record, ("b", log), after=("base/a",)),
            Job("answers/c", "answers:c", record, ("c", log), after=("train/b", "base/a")),
            Job("base/a", "base", record, ("a", log)),
            Job("train/b", "train:b-again", record, ("b2", log), after=("base/a",))]


def test_jobs_run_after_what_they_read_once_per_key():
    assert [j.name for j in in_order(_dag())] == ["base", "train:b", "answers:c"]
    log: list = []
    results = LocalExecutor(isolate=False).run(_dag(log))
    assert log == ["a", "b", "c"] and results["answers/c"]["pid"] == os.getpid()


def test_unknown_input_and_cycles_are_said_before_anything_runs():
    with pytest.raises(HarnessError, match="reads base/x, which no job of this run writes"):
        in_order([Job("train/b", "train:b", record, ("b",), after=("base/x",))])
    with pytest.raises(HarnessError, match="jobs form a cycle"):
        in_order([Job("a/1", "a", record, ("a",), after=("b/1",)), Job("b/1", "b", record, ("b",), after=("a/1",))])


def test_isolated_jobs_run_each_in_a_fresh_process():
    dag = _dag()
    results = LocalExecutor(isolate=True).run([dag[0], dag[2]])  # train/b after base/a
    pids = {r["pid"] for r in results.values()}
    assert len(pids) == 2 and os.getpid() not in pids
    assert results["train/b"]["tag"] == "b"


def test_a_job_error_crosses_the_process_boundary_whole():
    err = pickle.loads(pickle.dumps(HarnessError("bad row", file="data.jsonl", row=3, field="chosen")))
    assert err.one_line() == "data.jsonl:3: chosen: bad row"
    with pytest.raises(HarnessError) as exc:
        LocalExecutor(isolate=True).run([Job("base/a", "base", fail)])
    assert exc.value.one_line() == "data.jsonl:3: chosen: bad row"
