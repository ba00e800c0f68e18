"""Plug-ins from a user's own installed package, through entry points (harness.registry).

The end-to-end test builds a small distribution in a temporary folder, installs it with pip into
a folder put on PYTHONPATH, and runs `harness list-methods`, `list-tasks` and `run` on a config
that trains its method and scores its task; the distribution also carries the README's example
method, as written there. The unit tests cover every plug-in kind's group."""
from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from harness.errors import HarnessError
from harness.registry import PLUGIN_GROUPS, SPEC_KINDS, Registry

REPO = Path(__file__).resolve().parent.parent

PYPROJECT = """
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "harness-plugin-demo"
version = "0.1.0"

[tool.setuptools]
packages = ["harness_plugin_demo"]

[project.entry-points."harness.methods"]
half_dpo = "harness_plugin_demo.methods:HalfDPO"
my_dpo = "harness_plugin_demo.readme_method:MyDPO"

[project.entry-points."harness.tasks"]
echo_word = "harness_plugin_demo.tasks:echo_word"
"""

METHODS = '''"""DPO at half the loss: a user's method in the user's own package."""
import dataclasses

from harness import Method, Params, method


@dataclasses.dataclass(frozen=True)
class HalfDPOParams(Params):
    beta: float = 0.2


@method
class HalfDPO(Method):
    name = "half_dpo"
    needs_reference = True
    paper = "a plug-in of tests/test_plugins.py"
    Params = HalfDPOParams

    def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras):
        import torch.nn.functional as F
        margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
        return -0.5 * F.logsigmoid(self.params.beta * margin), {"half_dpo/margin": margin.detach().mean()}
'''

TASKS = '''"""Repeat a word: a user's task in the user's own package."""
from harness import GenerateParams, Sample, Task, task


@task
def echo_word(words: str = "cat,dog") -> Task:
    def load():
        return [Sample(id=f"echo-{i}", turns=[f"Say: {w}"], references=[w]) for i, w in enumerate(words.split(","))]

    return Task(name="echo_word", load=load, metrics=("exact_match",),
                generate_params=GenerateParams(max_new_tokens=6, temperature=0.0))
'''

CONFIG = """run_name: plugin
seed: 0
model:
  embedded: {vocab_size: 400, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}
data:
  synthetic: {n_sft: 64, n_preference: 8, n_test: 4, max_value: 20}
sft: {max_steps: 3, batch_size: 8, learning_rate: 3.0e-3, warmup_steps: 1, max_length: 64}
train: {max_steps: 2, batch_size: 4, learning_rate: 5.0e-5, max_length: 64, logps_every: 1, probe_pairs: 2}
methods:
  - {name: half_dpo, params: {beta: 0.3}}
tasks:
  - {name: echo_word, options: {words: "cat,dog,owl"}}
generation: {backend: hf}
"""


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory) -> Path:
    """The demo distribution, built and installed by pip (no index, no build isolation) into a
    folder: returns that folder, to put on PYTHONPATH."""
    root = tmp_path_factory.mktemp("plugin")
    src = root / "src"
    (src / "harness_plugin_demo").mkdir(parents=True)
    (src / "pyproject.toml").write_text(PYPROJECT)
    (src / "harness_plugin_demo" / "__init__.py").write_text("")
    (src / "harness_plugin_demo" / "methods.py").write_text(METHODS)
    (src / "harness_plugin_demo" / "tasks.py").write_text(TASKS)
    (src / "harness_plugin_demo" / "readme_method.py").write_text(readme_method())
    site = root / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                           "--no-build-isolation", "--disable-pip-version-check", "--target", str(site), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (site / "harness_plugin_demo-0.1.0.dist-info" / "entry_points.txt").is_file()
    return site


def readme_method() -> str:
    """The Python block of the README's Extending section: the example users copy."""
    extending = (REPO / "README.md").read_text().split("## Extending", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", extending, flags=re.S)
    assert len(blocks) == 1, "the README's Extending section should hold one Python example"
    return blocks[0]


def _cli(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(site)]), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=600)


def test_installed_plugin_is_listed(installed_plugin):
    methods = _cli(installed_plugin, "list-methods")
    assert methods.returncode == 0, methods.stderr
    line = next(x for x in methods.stdout.splitlines() if x.startswith("half_dpo"))
    assert "beta=0.2" in line and "a plug-in of tests/test_plugins.py" in line
    assert "dpo " in methods.stdout  # the shipped methods are still there
    tasks = _cli(installed_plugin, "list-tasks")
    assert tasks.returncode == 0, tasks.stderr
    assert any(x.startswith("echo_word") and "Repeat a word" in x for x in tasks.stdout.splitlines())


def test_the_readme_example_method_passes_the_checks(installed_plugin):
    proc = _cli(installed_plugin, "check-method", "my_dpo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [x.split() for x in proc.stdout.splitlines()]
    assert len(lines) >= 6 and all(x[0] == "my_dpo" and x[2] == "ok" for x in lines), proc.stdout


def test_check_method_runs_the_shared_checks_on_a_plugin(installed_plugin):
    proc = _cli(installed_plugin, "check-method", "half_dpo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [x.split() for x in proc.stdout.splitlines()]
    assert len(lines) >= 6 and all(x[0] == "half_dpo" and x[2] == "ok" for x in lines)
    typo = _cli(installed_plugin, "check-method", "half_dop")
    assert typo.returncode == 2 and "did you mean 'half_dpo'?" in typo.stderr


@pytest.mark.slow
def test_run_trains_the_plugin_method_and_scores_the_plugin_task(installed_plugin, tmp_path):
    cfg = tmp_path / "plugin.yaml"
    cfg.write_text(CONFIG)
    proc = _cli(installed_plugin, "run", str(cfg), "--set", f"cache_dir={tmp_path}/cache",
                "--set", f"results_dir={tmp_path}/results")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "results" / "plugin"
    scores = pd.read_csv(out / "scores.csv")
    mine = scores[scores["task"] == "echo_word"]
    assert set(mine["model"]) == {"base", "half_dpo"} and set(mine["metric"]) == {"exact_match"}
    assert set(mine["sample_id"]) == {"echo-0", "echo-1", "echo-2"}
    assert list(pd.read_csv(out / "leaderboard.csv")["model"]) == ["base", "half_dpo"]
    costs = pd.read_csv(out / "train_costs.csv")
    assert "half_dpo" in set(costs["model"])


def test_a_typo_of_a_plugin_name_gets_did_you_mean(installed_plugin, tmp_path):
    cfg = tmp_path / "plugin.yaml"
    cfg.write_text(CONFIG.replace("name: half_dpo", "name: half_dop"))
    proc = _cli(installed_plugin, "run", str(cfg), "--set", f"cache_dir={tmp_path}/cache",
                "--set", f"results_dir={tmp_path}/results")
    assert proc.returncode == 2
    assert "unknown method 'half_dop' (did you mean 'half_dpo'?)" in proc.stderr
    assert not (tmp_path / "cache").exists()


# --- every kind's entry-point group, without installing anything --------------------------------


def _entry_points(monkeypatch, group: str, *pairs: tuple[str, str]) -> None:
    eps = [importlib.metadata.EntryPoint(name, value, group) for name, value in pairs]
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group=None: [ep for ep in eps if ep.group == group])


def test_every_registry_kind_has_a_group():
    from harness.analyses import ANALYSES
    from harness.data import LOADERS
    from harness.executors import EXECUTORS
    from harness.generate.base import BACKENDS
    from harness.methods import METHODS
    from harness.metrics import METRICS
    from harness.tasks import TASKS
    kinds = {r.kind for r in (ANALYSES, LOADERS, EXECUTORS, BACKENDS, METHODS, METRICS, TASKS)}
    assert kinds == set(PLUGIN_GROUPS) and SPEC_KINDS < kinds


@pytest.mark.parametrize("kind", sorted(SPEC_KINDS))
def test_a_spec_plugin_is_listed_without_being_imported(monkeypatch, kind):
    _entry_points(monkeypatch, PLUGIN_GROUPS[kind], ("mine", "not_installed_module:Thing"))
    registry = Registry(kind)
    registry.add("builtin", "harness.x:Y")
    assert registry.names() == ["builtin", "mine"]  # no import: the module does not exist
    assert registry.get("mine") == "not_installed_module:Thing"
    with pytest.raises(HarnessError, match=r"unknown .* 'mien' \(did you mean 'mine'\?\)"):
        registry.get("mien")


def _metric_plugin_module(folder: Path, module: str, cls: str, name: str) -> None:
    """A module of a user's package with one @metric class, importable from `folder`."""
    (folder / f"{module}.py").write_text(textwrap.dedent(f'''
        from harness.metrics import Metric, metric

        @metric
        class {cls}(Metric):
            name = "{name}"
            def score(self, answers, samples):
                return []
    '''))


def test_an_object_plugin_registers_through_its_decorator(monkeypatch, tmp_path):
    _metric_plugin_module(tmp_path, "my_metric_pkg", "Shouting", "shouting")
    monkeypatch.syspath_prepend(str(tmp_path))
    _entry_points(monkeypatch, "harness.metrics", ("shouting", "my_metric_pkg:Shouting"))
    registry = Registry("metric")
    assert registry.names() == ["shouting"]
    assert registry.get("shouting").__name__ == "Shouting"


def test_an_entry_point_named_unlike_what_it_registers_is_an_error(monkeypatch, tmp_path):
    _metric_plugin_module(tmp_path, "misnamed_plugin_pkg", "Whisper", "whisper")
    monkeypatch.syspath_prepend(str(tmp_path))
    _entry_points(monkeypatch, "harness.metrics", ("my_whisper", "misnamed_plugin_pkg:Whisper"))
    from harness.metrics import METRICS
    monkeypatch.setattr(METRICS, "_items", dict(METRICS._items))
    monkeypatch.setattr(METRICS, "_plugins_loaded", False)
    with pytest.raises(HarnessError, match="entry point 'my_whisper'.* registers itself as metric 'whisper': "
                                           "name the entry point 'whisper'"):
        METRICS.names()


def test_a_broken_plugin_is_a_one_line_error(monkeypatch, tmp_path):
    (tmp_path / "broken_plugin_pkg.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _entry_points(monkeypatch, "harness.tasks", ("broken", "broken_plugin_pkg:thing"))
    with pytest.raises(HarnessError, match="cannot load plug-in entry point 'broken'.*RuntimeError: boom"):
        Registry("task").names()


def test_a_plugin_reusing_a_shipped_name_is_an_error(monkeypatch):
    _entry_points(monkeypatch, "harness.executors", ("local", "my_pkg:Local"))
    registry = Registry("executor")
    registry.add("local", "harness.executors.local:LocalExecutor")
    with pytest.raises(HarnessError, match="executor 'local' is registered twice"):
        registry.names()
