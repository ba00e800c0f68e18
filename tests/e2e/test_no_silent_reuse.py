"""The issue's reproduction: a run from a plain HF folder (no SFT), then the same config with another
dtype and seed. The second run must recompute exactly the jobs those settings shape (the answers and
the token log-probs) and record the settings that produced them."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = """run_name: folder
model: {{path: {model}}}
sft: null
data:
  synthetic: {{n_sft: 0, n_preference: 4, n_test: 6, max_value: 20}}
train: {{max_length: 96, probe_pairs: 2}}
methods: []
tasks:
  - {{name: synthetic_arith, options: {{n_samples: 3}}}}
generation: {{backend: hf}}
"""


def _run(cfg: Path, tmp: Path, *overrides: str) -> dict:
    sets = [a for o in (f"cache_dir={tmp}/cache", f"results_dir={tmp}/results", *overrides) for a in ("--set", o)]
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(cfg), *sets],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((tmp / "results" / "folder" / "manifest.json").read_text())


def test_a_dtype_or_seed_change_recomputes_the_answers_and_records_them(tmp_path, tiny_model_dir):
    cfg = tmp_path / "folder.yaml"
    cfg.write_text(CONFIG.format(model=tiny_model_dir))
    first = _run(cfg, tmp_path)
    assert sorted(first["computed_this_run"]) == ["answers:base/synthetic_arith", "token_logps:base"]
    assert _run(cfg, tmp_path)["computed_this_run"] == []
    second = _run(cfg, tmp_path, "model.dtype=bfloat16", "seed=7")
    assert sorted(second["computed_this_run"]) == ["answers:base/synthetic_arith", "token_logps:base"]
    key = second["jobs"]["answers:base/synthetic_arith"]
    assert key != first["jobs"]["answers:base/synthetic_arith"]
    record = json.loads((tmp_path / "cache" / key / "inputs.json").read_text())
    assert record["inputs"]["dtype"] == "bfloat16" and record["inputs"]["seed"] == 7
    assert second["config"]["model"]["dtype"] == "bfloat16" and second["seeds"]["run"] == 7
