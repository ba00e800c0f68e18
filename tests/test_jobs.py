"""The job DAG (harness.jobs) and the local executor, in this process and in child processes."""
import os
import pickle
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.executors.local import LocalExecutor
from harness.job_inputs import JobInputs
from harness.jobs import Job, Upstream, in_order

LOG: list[str] = []


class Tag(JobInputs):
    tag: str


def record(ctx, inputs: Tag, up: dict, stage) -> dict:
    """A job: its tag, the tags of what it read, and the process it ran in."""
    LOG.append(inputs.tag)
    return {"tag": inputs.tag, "read": sorted(up), "pid": os.getpid()}


def fail(ctx, inputs, up, stage) -> None:
    raise HarnessError("bad row", file="data.jsonl", row=3, field="chosen")


def _job(kind: str, tag: str, fn=record, **upstream: Job) -> Job:
    return Job(kind, f"{kind}:{tag}", fn, Tag(tag=tag), {role: Upstream(j.key, str(j.stage.dir))
                                                         for role, j in upstream.items()}, {"lib": "1"}, Path("cache"))


def _dag() -> list[Job]:
    base = _job("base", "a")
    train = _job("train", "b", base=base)
    return [train, _job("answers", "c", checkpoint=train, base=base), base, _job("train", "b", base=base)]


def test_a_key_is_the_digest_of_inputs_upstream_and_versions():
    base = _job("base", "a")
    assert base.key == _job("base", "a").key and base.key.startswith("base/")
    assert _job("base", "z").key != base.key
    assert _job("train", "b", base=base).key != _job("train", "b", base=_job("base", "z")).key
    other_versions = Job("base", "base:a", record, Tag(tag="a"), {}, {"lib": "2"}, Path("cache"))
    assert other_versions.key != base.key
    elsewhere = Job("base", "base:a", record, Tag(tag="a"), {}, {"lib": "1"}, Path("other-cache"))
    assert elsewhere.key == base.key  # where the cache is does not change what a job computes


def test_jobs_run_after_what_they_read_once_per_key():
    assert [j.name for j in in_order(_dag())] == ["base:a", "train:b", "answers:c"]
    LOG.clear()
    results = LocalExecutor(isolate=False).run(_dag())
    answers = _dag()[1]
    assert LOG == ["a", "b", "c"] and results[answers.key]["pid"] == os.getpid()
    assert results[answers.key]["read"] == ["base", "checkpoint"]


def test_an_unknown_input_is_said_before_anything_runs():
    orphan = Job("train", "train:b", record, Tag(tag="b"), {"base": Upstream("base/x", "nowhere")}, {}, Path("c"))
    with pytest.raises(HarnessError, match="reads base/x, which no job of this run writes"):
        in_order([orphan])


def test_isolated_jobs_run_each_in_a_fresh_process():
    dag = _dag()
    results = LocalExecutor(isolate=True).run([dag[0], dag[2]])  # train/b after base/a
    pids = {r["pid"] for r in results.values()}
    assert len(pids) == 2 and os.getpid() not in pids
    assert results[dag[0].key]["tag"] == "b"


def test_a_job_error_crosses_the_process_boundary_whole():
    err = pickle.loads(pickle.dumps(HarnessError("bad row", file="data.jsonl", row=3, field="chosen")))
    assert err.one_line() == "data.jsonl:3: chosen: bad row"
    with pytest.raises(HarnessError) as exc:
        LocalExecutor(isolate=True).run([_job("base", "a", fn=fail)])
    assert exc.value.one_line() == "data.jsonl:3: chosen: bad row"
