"""results/README.md is generated from the committed files (scripts/render_results_readme.py):
it is not stale, and a new run or benchmark folder appears in it when it is regenerated."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "render_results_readme.py"


def test_committed_results_readme_is_current():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr + "\n(regenerate: python scripts/render_results_readme.py)"


def test_a_new_run_and_benchmark_appear_and_check_catches_staleness(tmp_path):
    run = tmp_path / "my_run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({
        "run_name": "my_run", "config_file": "my.yaml", "seeds": {"training": [0, 1]}, "total_wall_s": 12.5,
        "hardware": {"cpu_count": 8, "mem_gib": 64}, "packages": {"trl": "1.16.0"}, "stage_wall_s": {"train": 9.5}}))
    (run / "leaderboard.md").write_text("# Leaderboard\n\n| model | task/metric |\n|---|---:|\n| dpo | 42.0 [40.0, 44.0] |\n"
                                        "\nnotes\n")
    (run / "findings.md").write_text("# Findings\n\n| claim | source | verdict |\n|---|---|---|\n"
                                     "| DPO lowers it | DPOP §3 | **supported** |\n| a beats b | leaderboard | x |\n")
    (run / "train_costs.csv").write_text("model,seed,wall_s,tokens,steps,global_batch\ndpo,0,3.0,100,5,8\n"
                                         "dpo,1,5.0,100,5,8\n")
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "speed.json").write_text(json.dumps({"benchmark": "a vs b", "command": "python scripts/bench_x.py",
                                                  "wall_s": {"a": 2.0, "b": 1.0, "ratio": 2.0},
                                                  "machine": {"cpu_count": 2, "date": "2026-12-03T10:00:00"}}))
    assert subprocess.run([sys.executable, str(SCRIPT), "--results", str(tmp_path), "--check"],
                          capture_output=True, text=True).returncode == 1  # no README yet: stale
    subprocess.run([sys.executable, str(SCRIPT), "--results", str(tmp_path)], check=True, capture_output=True)
    text = (tmp_path / "README.md").read_text()
    assert "## Run `my_run` (`results/my_run/`)" in text and "config `my.yaml`; training seeds [0, 1]" in text
    assert "| dpo | 42.0 [40.0, 44.0] |" in text and "notes" not in text
    assert "| DPO lowers it | DPOP §3 | **supported** |" in text and "a beats b" not in text
    assert "1 paired comparisons" in text and "| dpo | 2 | 4.0 | 5 | 100 | 8 |" in text
    assert "### `speed.json`: a vs b" in text and "| wall_s.ratio | 2.0 |" in text
    assert text.index("## Run `my_run`") < text.index("## Benchmarks")
    assert subprocess.run([sys.executable, str(SCRIPT), "--results", str(tmp_path), "--check"],
                          capture_output=True, text=True).returncode == 0
    (run / "leaderboard.md").write_text("| model | task/metric |\n|---|---:|\n| dpo | 43.0 |\n")
    assert subprocess.run([sys.executable, str(SCRIPT), "--results", str(tmp_path), "--check"],
                          capture_output=True, text=True).returncode == 1
