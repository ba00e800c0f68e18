"""The tables of a results folder, each with one owner of its file name and columns.

The run's own tables are declared here; each analysis's tables are declared by the analysis
(harness.analyses) and reached through its registry, so no writer or reader names a file of its
own: the pipeline writes them, the report, the findings and the paper tables read them, all
through `table`.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from harness.errors import HarnessError


@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def path(self, run_dir: Path) -> Path:
        return Path(run_dir) / self.file


SCORE_COLUMNS = ["model", "seed", "task", "metric", "sample_id", "category", "score", "status", "reason"]
RUN_TABLES = {t.name: t for t in (
    Table("scores", tuple(SCORE_COLUMNS)),
    # `harness lm-eval RUN`: the scores' columns and the checkpoint measured (relative to the cache),
    # merged into the leaderboard where that checkpoint is the run's current one
    Table("lm_eval_scores", (*SCORE_COLUMNS, "checkpoint")),
    Table("train_costs", ("model", "seed", "wall_s", "tokens", "steps", "global_batch", "learning_rate", "peft",
                          "budget", "chosen")),
    Table("tuning", ("model", "point", "seed", "task", "metric", "dev_mean", "n", "chosen")),
)}


def analysis_tables() -> dict[str, tuple[str, Table]]:
    """Every table an analysis of the registry declares -> (analysis name, table); its rows carry
    the run's `model` and `seed` in front of the analysis's own columns."""
    from harness.analyses import ANALYSES, analysis
    return {t: (name, Table(t, ("model", "seed", *cols))) for name in ANALYSES
            for t, cols in analysis(name).tables.items()}


def table(name: str) -> Table:
    """A results table by name: the run's own, or one an analysis declares."""
    if name in RUN_TABLES:
        return RUN_TABLES[name]
    found = analysis_tables().get(name)
    if found is None:
        raise HarnessError(f"no results table {name!r}; run tables: {', '.join(RUN_TABLES)}; analysis tables: "
                           f"{', '.join(analysis_tables())}")
    return found[1]
