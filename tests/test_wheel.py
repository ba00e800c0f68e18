"""The built wheel works without the source tree: installed into a fresh venv (its dependencies
borrowed from this environment's site-packages through a plain path entry, so the checkout's
editable install is not visible), `harness list-tasks` finds the shipped tasks and a tiny
`harness run` from an empty directory answers MT-Bench from the wheel's own data."""
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CONFIG = """run_name: wheel
model:
  embedded: {vocab_size: 400, hidden_size: 128, num_layers: 2, num_heads: 2, intermediate_size: 256}
data: {synthetic: {n_sft: 60, n_preference: 8, n_test: 4, max_value: 20}}
sft: {max_steps: 2, batch_size: 8, warmup_steps: 0, max_length: 64}
train: {max_steps: 1, batch_size: 4, max_length: 64, logps_every: 1, probe_pairs: 2}
methods: [dpo]
tasks:
  - {name: synthetic_arith, options: {n_samples: 2}}
  - {name: mt_bench, options: {n_questions: 2, max_new_tokens: 4}}
generation: {backend: hf}
"""


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp / "dist"), str(REPO)], check=True, capture_output=True)
    wheel = next((tmp / "dist").glob("harness-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")], check=True)
    py = tmp / "venv" / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    empty = tmp / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HARNESS_TASKS_DIR", "HARNESS_CACHE")}
    return wheel, py, site, empty, env


def test_wheel_holds_tasks_data_and_licences(wheel_env):
    names = set(zipfile.ZipFile(wheel_env[0]).namelist())
    for name in ("harness/_tasks/mt_bench.py", "harness/_tasks/data/mt_bench/question.jsonl",
                 "harness/_tasks/data/mt_bench/judge_prompts.jsonl", "harness/_tasks/data/mt_bench/LICENSE",
                 "harness/_tasks/data/hh_rlhf/LICENSE", "harness/_tasks/data/ifeval/input_data.jsonl",
                 "harness/_tasks/data/ifeval/LICENSE", "harness/_tasks/runs/quickstart.yaml",
                 "harness/_tasks/lm_eval/harness_hh_rlhf_gen.yaml", "harness/report/published/smaug_mt_bench.yaml"):
        assert name in names, name


@pytest.mark.slow
def test_installed_wheel_lists_tasks_and_runs_from_an_empty_directory(wheel_env):
    _, py, site, empty, env = wheel_env
    where = subprocess.run([str(py), "-c", "import harness; print(harness.__file__)"], cwd=empty, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(site)), where  # the wheel's code, not the checkout's
    listed = subprocess.run([str(py), "-m", "harness.cli", "list-tasks"], cwd=empty, env=env, capture_output=True,
                            text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert {"mt_bench", "hh_rlhf_gen", "ultrafeedback_gen", "synthetic_arith"} <= {
        line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    (empty / "run.yaml").write_text(CONFIG)
    run = subprocess.run([str(py), "-m", "harness.cli", "run", "run.yaml"], cwd=empty, env=env, capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    answers = (empty / "results" / "wheel" / "answers" / "mt_bench" / "dpo.jsonl").read_text().splitlines()
    assert len(answers) == 2
    assert (empty / ".harness_cache").is_dir() and not (empty / "tasks").exists()
