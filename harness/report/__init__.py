"""Report layer: bootstrap CIs, merged leaderboards (md/csv/tex/html) and plots from results/<run>/.

Entry points: `build_leaderboard` (a Leaderboard: its `table` is a DataFrame you can inspect) and `write_reports` (all files).
"""
from harness.report.bootstrap import (CI, PairedResult, bootstrap_ci, mt_bench_ci, paired_bootstrap,
                                      paired_by_id, per_question_average)
from harness.report.load import load_run, load_runs, read_scores
from harness.report.tables import Leaderboard, build_leaderboard, write_reports

__all__ = ["CI", "Leaderboard", "PairedResult", "bootstrap_ci", "build_leaderboard", "load_run",
           "load_runs", "mt_bench_ci", "paired_bootstrap", "paired_by_id", "per_question_average",
           "read_scores", "write_reports"]
