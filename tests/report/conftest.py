"""Synthetic run directories for the report tests (no model, no GPU, a few ms to build)."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

SCORE_HEADER = ["model", "seed", "task", "metric", "sample_id", "score", "status", "reason",
                "category"]
CATEGORIES = ["writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem",
              "humanities"]
QUALITY = {"sft": 30.0, "dpo": 40.0, "orpo": 35.0, "ipo": 33.0}


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def score_rows(models: list[str], seeds: tuple[int, ...] = (0,), n_gen: int = 40,
               n_mt: int = 16, rng_seed: int = 0) -> list[list]:
    """hh_rlhf_gen (bleu4, rougeL; 0-100) and mt_bench (turn1/turn2; 1-10) for each model."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for model in models:
        q = QUALITY.get(model, 30.0)
        for seed in seeds:
            for metric, offset in (("bleu4", 0.0), ("rougeL", 5.0)):
                for k in range(n_gen):
                    score = float(np.clip(q + offset + rng.normal(0, 5), 0, 100))
                    rows.append([model, seed, "hh_rlhf_gen", metric, f"hh-{k}", f"{score:.3f}",
                                 "ok", "", ""])
            for turn in (1, 2):
                for k in range(n_mt):
                    score = float(np.clip(q / 6 + rng.normal(0, 1) - 0.3 * turn, 1, 10))
                    rows.append([model, seed, "mt_bench", f"mt_bench_turn{turn}", f"q{81 + k}",
                                 f"{score:.2f}", "ok", "", CATEGORIES[k % len(CATEGORIES)]])
    return rows


def build_run(root: Path, name: str, models: list[str] | None = None, *,
              rows: list[list] | None = None, seeds: tuple[int, ...] = (0,), costs: bool = True,
              dynamics: bool = True, rng_seed: int = 0) -> Path:
    """Write `root/results/<name>/` with scores.csv, manifest.json and optional companions."""
    run_dir = root / "results" / name
    models = models or []
    if rows is None:
        rows = score_rows(models, seeds, rng_seed=rng_seed)
    write_csv(run_dir / "scores.csv", SCORE_HEADER, rows)
    (run_dir / "manifest.json").write_text(json.dumps({"run_name": name}))
    if costs:
        write_csv(run_dir / "train_costs.csv", ["model", "seed", "wall_s", "tokens", "steps"],
                  [[m, s, 100.0 + i, 50_000 * (i + 1), 200]
                   for i, m in enumerate(models) if m != "sft" for s in seeds])
    if dynamics:
        dyn = []
        for m in models:
            for step in range(0, 50, 10):
                for kind, gap in (("near_miss", 0.5), ("far_miss", 3.0)):
                    c, r = -40.0 - 0.1 * step, -40.0 - gap - 0.2 * step
                    dyn.append([m, 0, step, kind, c, r, c - r])
        write_csv(run_dir / "dynamics.csv", ["model", "seed", "step", "kind", "logp_chosen",
                                             "logp_rejected", "margin"], dyn)
    return run_dir


@pytest.fixture
def make_run(tmp_path: Path) -> Callable[..., Path]:
    """make_run(name, models, ...) -> a synthetic run directory under tmp_path (see build_run)."""

    def make(name: str, models: list[str] | None = None, **kwargs: Any) -> Path:
        return build_run(tmp_path, name, models, **kwargs)

    return make
