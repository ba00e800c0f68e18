"""The planner (harness.plan) is a pure function from a config to jobs: a job's key is the digest of
exactly the inputs it receives. These tests need no training and no subprocess."""
from __future__ import annotations

import copy
import time
from pathlib import Path

from pydantic import ValidationError

from harness.config import RunConfig
from harness.data.prepare import prepare_data
from harness.errors import HarnessError
from harness.plan import ModelSource, PlanEnv, plan_run
from harness.store import digest_json
from harness.tasks import build_task

REPO = Path(__file__).resolve().parent.parent
VERSIONS = {kind: {"harness": "0", "torch": "1"} for kind in
            ("source", "base", "reference", "train", "analysis", "answers")}

#: Every run-config field a job of the run receives shapes that job's key. These fields reach no
#: job, on purpose, each for the reason given: changing one must leave every key as it is.
NO_JOB_FIELDS = {
    "run_name": "names the results folder",
    "results_dir": "where results are written",
    "cache_dir": "where the cache is (jobs are keyed by content, not place)",
    "baseline": "the report's paired comparisons",
    "tasks_dirs": "where task files are found (what they ask is in the answers' key)",
    "resources": "what a job asks of an executor's worker, not what it computes",
    "judge": "judging is not a job: the judge's cache keys on the judge model and prompt",
    "generation.vllm.gpu_memory_utilization": "how much device memory vLLM may take",
    "data.sft_extra[0].skip_bad_rows": "the shipped rows have no malformed row, so the rows are the same",
    "data.synthetic.n_dev": "the dev split's size: read by a tuning section's dev task only",
}

BASE = {
    "run_name": "plan", "seed": 0, "seeds": [0, 1], "results_dir": "results", "cache_dir": "cache",
    "model": {"embedded": {"vocab_size": 300, "hidden_size": 64, "num_layers": 2, "num_heads": 1,
                           "intermediate_size": 128},
              "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"},
    "data": {"synthetic": {"n_sft": 40, "n_preference": 20, "n_test": 8, "max_value": 9},
             "sft_extra": [{"loader": "hh_rlhf", "path": str(REPO / "tasks/data/hh_rlhf/helpful-base-test.jsonl.gz"),
                            "offset": 500, "limit": 5}]},
    "sft": {"max_steps": 3, "batch_size": 4},
    "train": {"max_steps": 2, "batch_size": 4, "max_length": 64, "logps_every": 1, "probe_pairs": 2},
    "peft": {"r": 4},
    "methods": ["sft", {"name": "dpo", "params": {"beta": 0.2}}, {"name": "dpop", "label": "dpop-l5",
                                                                   "train": {"learning_rate": 1e-3}}],
    "tasks": [{"name": "synthetic_arith", "options": {"n_samples": 3}}],
    "generation": {"backend": "hf", "batch_size": 8},
    "judge": {"model": "gpt-4", "base_url": "http://127.0.0.1:9/v1"},
    "baseline": "dpo",
    "resources": {"train": {"cpus": 1}},
}


def _env(cfg: RunConfig) -> PlanEnv:
    """What the pipeline reads from disk, derived from the config (the planner reads no file)."""
    source = None
    if cfg.model.path is not None:
        source = ModelSource(cfg.model.path, digest_json(cfg.model.path), cfg.model.path.endswith(".gguf"),
                             cfg.model.chat_template)
    return PlanEnv(Path(cfg.cache_dir or "cache"), VERSIONS, False, source, cfg.model.chat_template)


def _plan(raw: dict):
    cfg = RunConfig.model_validate(raw)
    tasks = [build_task(cfg, spec, f"tasks[{i}]") for i, spec in enumerate(cfg.tasks)]
    return plan_run(cfg, _env(cfg), prepare_data(cfg), tasks)


def test_plan_has_one_job_per_stage_and_names_what_it_reads():
    plan = _plan(BASE)
    names = [j.name for j in plan.jobs]
    assert names[:2] == ["base", "reference"]
    assert [n for n in names if n.startswith("train:")] == [
        "train:sft-seed0", "train:dpo-seed0", "train:dpop-l5-seed0",
        "train:sft-seed1", "train:dpo-seed1", "train:dpop-l5-seed1"]
    by_name = {j.name: j for j in plan.jobs}
    assert by_name["train:dpo-seed0"].after == (by_name["base"].key, by_name["reference"].key)
    assert by_name["train:sft-seed0"].after == (by_name["base"].key,)  # no reference: sft needs none
    assert by_name["train:dpop-l5-seed0"].inputs.train.learning_rate == 1e-3
    assert by_name["train:dpo-seed1"].inputs.params["beta"] == 0.2
    answers = by_name["answers:dpo-seed1/synthetic_arith"]
    assert answers.after == (by_name["train:dpo-seed1"].key,) and answers.units == 3
    assert set(plan.answers) == {(c, "synthetic_arith") for c in plan.checkpoints}
    assert {j.name for j, _ in plan.analyses} == {f"token_logps:{c}" for c in plan.checkpoints}
    # the rows every job reads are in the plan, under the digests its inputs name
    assert by_name["train:dpo-seed0"].inputs.preference in plan.rows
    assert answers.inputs.samples in plan.rows and len(plan.rows[answers.inputs.samples]) == 3


def test_planning_is_fast_and_deterministic():
    _plan(BASE)  # imports
    t0 = time.perf_counter()
    first = [j.key for j in _plan(BASE).jobs]
    assert time.perf_counter() - t0 < 2.0
    assert [j.key for j in _plan(BASE).jobs] == first


def _folder_config(**model) -> dict:
    """The issue's reproduction: model.path a plain HF folder, no SFT, answered with backend hf."""
    raw = copy.deepcopy(BASE)
    raw.update(model={"path": "/models/folder", **model}, sft=None, peft=None, methods=[])
    return raw


def test_dtype_or_seed_changes_the_answers_they_shape_and_nothing_else():
    before = {j.name: j.key for j in _plan(_folder_config()).jobs}
    assert "base" not in before and "answers:base/synthetic_arith" in before  # the folder is used in place
    bf16 = {j.name: j.key for j in _plan(_folder_config(dtype="bfloat16")).jobs}
    assert bf16.keys() == before.keys() and all(bf16[n] != before[n] for n in before)  # answers + log-probs
    seeded = {j.name: j.key for j in _plan({**_folder_config(), "seed": 7}).jobs}
    assert seeded["answers:base/synthetic_arith"] != before["answers:base/synthetic_arith"]


def _leaves(node, path=""):
    """(path, value) of every leaf of a config dict; lists of scalars are leaves."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(node, list) and any(isinstance(v, (dict, list)) for v in node):
        for i, v in enumerate(node):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, node


def _set(raw: dict, path: str, value) -> dict:
    import re
    raw = copy.deepcopy(raw)
    parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
    node = raw
    for p in parts[:-1]:
        node = node[p]
    node[parts[-1]] = value
    return raw


def _changes(value):
    """Values to try instead of `value`, in order; the first the schema accepts is used."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1]
    if isinstance(value, float):
        return [value * 2, value / 2] if value else [0.1, 1.0]
    if isinstance(value, str):
        return ["cosine", "sgd", "lora" if value != "lora" else "qlora", "bfloat16", "pairwise", "vllm", "bf16",
                value + "2", "{{ x }}" if value.startswith("{") else value + "/x"]
    if isinstance(value, list):
        return [value[:-1], value + [max(value) + 1] if value and isinstance(value[0], int) else value[:1]]
    if value is None:
        return []
    return []


def _full_config(raw: dict) -> dict:
    """The config with every default filled in, so that every field is a leaf to walk."""
    return RunConfig.model_validate(raw).model_dump(mode="json", exclude={"peft": {"target_modules"}})


def test_every_config_field_reaches_exactly_the_jobs_that_receive_it():
    """Walk every leaf of a full config, change it, re-plan: a job's key changes exactly when its
    inputs, upstream keys or versions change, and a field that changes no key is one of
    NO_JOB_FIELDS (and the other way round)."""
    full = _full_config(BASE)
    before = {j.name: j for j in _plan(full).jobs}
    walked, untouched = [], set()
    for path, value in _leaves(full):
        for new in _changes(value):
            if new == value:
                continue
            raw = _set(full, path, new)
            try:
                after = {j.name: j for j in _plan(raw).jobs}
            except (ValidationError, HarnessError, TypeError, KeyError):
                continue
            break
        else:
            continue
        walked.append(path)
        changed = False
        for name in before.keys() & after.keys():
            a, b = before[name], after[name]
            inputs_differ = (a.inputs.key_fields() != b.inputs.key_fields()
                             or {r: u.key for r, u in a.upstream.items()} != {r: u.key for r, u in b.upstream.items()})
            assert (a.key != b.key) == inputs_differ, f"{path}: job {name}"
            changed |= a.key != b.key
        changed |= before.keys() != after.keys()
        if not changed:
            untouched.add(path)
    listed = {p for p in untouched if any(p == f or p.startswith(f + ".") or p.startswith(f + "[")
                                          for f in NO_JOB_FIELDS)}
    assert untouched == listed, f"fields that reach no job but are not listed: {sorted(untouched - listed)}"
    used = {f for f in NO_JOB_FIELDS if any(p == f or p.startswith(f + ".") or p.startswith(f + "[")
                                            for p in walked)}
    for f in used:  # a listed field really reaches no job
        assert all(p in untouched for p in walked if p == f or p.startswith(f + ".") or p.startswith(f + "[")), f
    assert len(walked) >= 80, len(walked)
    # the fields of the reproduction reach the answers
    for path in ("model.dtype", "seed", "generation.batch_size", "generation.vllm.enforce_eager",
                 "tasks[0].options.n_samples"):
        assert path in walked and path not in untouched, path
