"""`import harness` and the listing commands import no torch, vLLM, TRL, transformers or
rouge-score: they answer in a fraction of a second (scripts/bench_import.py measures it)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "trl", "vllm", "rouge_score", "nltk", "sacrebleu", "datasets")
# The shipped code is measured: plug-ins installed beside it (which may import torch at top level,
# their own cost) are hidden from the registries.
DRIVER = """
import atexit, json, sys
import importlib.metadata as md
_all_entry_points = md.entry_points
md.entry_points = lambda **kw: [] if kw.get("group", "").startswith("harness.") else _all_entry_points(**kw)
atexit.register(lambda: print("HEAVY " + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules))))
args = json.loads(sys.argv[1])
if args is None:
    import harness
else:
    sys.argv = ["harness", *args]
    from harness.cli import main
    main()
"""


@pytest.mark.parametrize("args", [None, ["--help"], ["list-methods"], ["list-tasks"], ["run", "--help"]],
                         ids=["import", "help", "list-methods", "list-tasks", "run-help"])
def test_light_commands_import_no_heavy_library(args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", DRIVER.format(heavy=HEAVY), json.dumps(args)],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = json.loads(proc.stdout.strip().splitlines()[-1].removeprefix("HEAVY "))
    assert imported == [], f"{args} imported {imported}"
    if args == ["list-methods"]:
        assert "dpo" in proc.stdout and "beta=0.1" in proc.stdout
    if args == ["list-tasks"]:  # the whole first paragraph of the task's docstring, and its options
        assert "against the human-preferred (chosen) final answer." in proc.stdout
        assert "options: n_samples=40, max_new_tokens=64" in proc.stdout and "run_config" not in proc.stdout
