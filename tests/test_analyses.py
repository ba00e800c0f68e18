"""The analyses seam (harness.analyses): a new analysis is one file plus one registry line, the
config names analyses from the registry, and a checkpoint analysis is a cached job."""
import textwrap
from pathlib import Path

import pytest

from harness.analyses import ANALYSES
from harness.config import load_config
from harness.data.prepare import prepare_data
from harness.errors import HarnessError
from harness.executors.local import LocalExecutor
from harness.jobs import Upstream
from harness.pipeline import Pipeline
from harness.plan import Checkpoint, Planner

CONFIG = """run_name: analyses
cache_dir: {cache}
model: {{embedded: {{vocab_size: 300, hidden_size: 64, num_layers: 1, num_heads: 2, intermediate_size: 128}}}}
data: {{synthetic: {{n_sft: 40, n_preference: 8, n_test: 6, max_value: 20}}}}
methods: [dpo]
tasks: [{{name: synthetic_arith}}]
analyses: {analyses}
"""

PLUGIN = '''
"""A user's checkpoint analysis: the number of parameters of each checkpoint."""
from harness.analyses.base import CheckpointAnalysis


class ParamCount(CheckpointAnalysis):
    tables = {"param_counts": ["n_params"]}

    def inputs(self, cfg, data):
        return {"dtype": cfg.model.dtype}

    def run(self, inputs, model_dir):
        from harness.models.load import load_model
        return {"param_counts": [{"n_params": sum(p.numel() for p in load_model(model_dir).parameters())}]}
'''


def _config(tmp_path, analyses: str):
    path = tmp_path / "run.yaml"
    path.write_text(CONFIG.format(cache=tmp_path / "cache", analyses=analyses))
    return path


def test_an_unknown_analysis_is_one_line_naming_the_field_and_a_close_match(tmp_path):
    with pytest.raises(HarnessError) as exc:
        load_config(_config(tmp_path, "[dynamics, token_logp]"))
    line = exc.value.one_line()
    assert "run.yaml" in line and "analyses" in line and "did you mean 'token_logps'" in line
    assert "\n" not in line


def test_a_registered_analysis_runs_as_a_cached_job_per_checkpoint(tmp_path, monkeypatch, tiny_model_dir):
    (tmp_path / "param_count_plugin.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(ANALYSES._items, "param_count", "param_count_plugin:ParamCount")  # the registry line
    cfg = load_config(_config(tmp_path, "[param_count]"))
    checkpoints = {name: Checkpoint(name, name, 0, Upstream(f"folder:{name}", str(tiny_model_dir), job=False))
                   for name in ("base", "dpo")}

    def analysis_jobs():
        planner = Planner(cfg, Pipeline(cfg).env(), prepare_data(cfg))
        planner.analyses(checkpoints)
        return planner.plan.analyses

    jobs = analysis_jobs()
    assert [(job.name, name) for job, name in jobs] == [("param_count:base", "base"), ("param_count:dpo", "dpo")]
    first = LocalExecutor(isolate=False).run([job for job, _ in jobs])
    counts = [r["tables"]["param_counts"][0]["n_params"] for r in first.values()]
    assert counts[0] == counts[1] > 1000 and all(r["computed"] for r in first.values())
    again = LocalExecutor(isolate=False).run([job for job, _ in analysis_jobs()])
    assert not any(r["computed"] for r in again.values())
    assert [r["tables"] for r in again.values()] == [r["tables"] for r in first.values()]


def test_without_held_out_pairs_token_logps_makes_no_job(tmp_path):
    hh = Path(__file__).resolve().parents[1] / "tasks/data/hh_rlhf/helpful-base-test.jsonl.gz"
    cfg = load_config(_config(tmp_path, "[token_logps]"),
                      ["data.synthetic=null", f"data.preference_extra=[{{loader: hh_rlhf, path: {hh}, limit: 8}}]"])
    planner = Planner(cfg, Pipeline(cfg).env(), prepare_data(cfg))
    planner.analyses({"base": Checkpoint("base", "base", 0, Upstream("k", "unused", job=False))})
    assert planner.plan.analyses == []
