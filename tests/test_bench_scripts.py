"""Smoke test of the benchmark scripts: scripts/bench_ref_cache.py at a tiny size (about 15 s)
writes its JSON with both ways measured, and the shared cache runs no per-step reference forward.
(bench_generate.py starts vLLM twice and bench_cache.py runs the pipeline twice: too slow here.)"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bench_ref_cache_tiny(tmp_path):
    out = tmp_path / "ref_cache.json"
    proc = subprocess.run([sys.executable, "scripts/bench_ref_cache.py", "--steps", "2", "--n-preference", "8",
                           "--methods", "dpo,ipo", "--sft-steps", "2", "--repeats", "1", "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    batches = result["reference_forward_batches"]
    assert batches["trl_default"] == 2 * 2 and batches["shared_cache"] == 1
    for rec in result["per_method"].values():
        assert rec["cache"]["ref_forward_batches"] == 0 and not rec["cache"]["has_ref_model"]
        assert rec["default"]["has_ref_model"] and rec["max_abs_loss_diff"] < 1e-3
    wall = result["wall_s"]
    parts = result["reference_cache"]["compute_s"] + sum(r["cache"]["wall_s"] for r in result["per_method"].values())
    assert wall["shared_cache_total"] == pytest.approx(parts, abs=2e-3)
    assert wall["ratio_default_over_cache"] == round(wall["trl_default_total"] / wall["shared_cache_total"], 2)
    assert result["machine"]["cpu_count"] and result["machine"]["packages"]["trl"] == "1.16.0"
    assert "default/cache" in proc.stdout
