"""Hyper-parameter grids with one tuning budget for every method.

A list in a method's `params` or `train` is a grid axis (no hyper-parameter of a method or of
training takes a list). A method's grid is the product of its axes; it is tried on at most
`tuning.budget` points (a seeded random subset of a larger grid: random search), each point is
trained on the tuning seeds and answers the dev task, and the point with the best mean dev metric
is the one trained on every seed and reported on test. Methods get the same number of points
unless the config says `unequal_budget: true`, and then the table says so.
"""
from __future__ import annotations

import dataclasses
import itertools
import random

from harness.errors import HarnessError


def grid_axes(spec) -> dict[tuple[str, str], list]:
    """{(section, name): values} for every list in the method's `params` or `train`."""
    return {(section, name): list(values) for section in ("params", "train")
            for name, values in getattr(spec, section).items() if isinstance(values, list)}


def grid_points(spec) -> list:
    """The method spec once per grid point (axes in config order, the last varying fastest); a
    method without a grid is its own single point."""
    axes = grid_axes(spec)
    if not axes:
        return [spec]
    points = []
    for values in itertools.product(*axes.values()):
        update = {"params": dict(spec.params), "train": dict(spec.train)}
        for (section, name), value in zip(axes, values):
            update[section][name] = value
        points.append(spec.model_copy(update=update))
    return points


def point_label(spec, point) -> str:
    """`beta=0.3,learning_rate=0.0001`: the axes' values at this point ('-' without a grid)."""
    axes = grid_axes(spec)
    return ",".join(f"{name}={getattr(point, section)[name]}" for section, name in axes) or "-"


def budget(cfg) -> int:
    """Points tried per method: `tuning.budget`, else the largest grid of the run."""
    if cfg.tuning is not None and cfg.tuning.budget is not None:
        return cfg.tuning.budget
    return max(len(grid_points(m)) for m in cfg.methods)


def points_tried(cfg, spec) -> list:
    """The grid points a method is trained on: all of them, or a seeded random subset of
    `budget(cfg)` points kept in grid order."""
    points = grid_points(spec)
    n = budget(cfg)
    if len(points) <= n:
        return points
    keep = sorted(random.Random(f"{cfg.seed}:{spec.row}").sample(range(len(points)), n))
    return [points[i] for i in keep]


def check_grids(cfg) -> None:
    """A grid needs a tuning section; an unequal budget must be asked for. Raises HarnessError
    with the config field at fault."""
    sizes = {m.row: len(grid_points(m)) for m in cfg.methods}
    gridded = [i for i, m in enumerate(cfg.methods) if sizes[m.row] > 1]
    if cfg.tuning is None:
        if gridded:
            m = cfg.methods[gridded[0]]
            raise HarnessError(f"{m.row} has a grid of {sizes[m.row]} points: add a tuning: section (dev task and "
                               "metric) to choose among them", field=f"methods[{gridded[0]}]")
        return
    n = budget(cfg)
    short = {row: size for row, size in sizes.items() if size < n}
    if short and not cfg.tuning.unequal_budget:
        row, size = next(iter(short.items()))
        raise HarnessError(f"{row} has {size} grid point(s), the budget is {n} per method: give it {n} or more "
                           "points, or set tuning.unequal_budget: true (the table then says so)",
                           field=f"methods[{[m.row for m in cfg.methods].index(row)}]")


@dataclasses.dataclass
class Choice:
    """One method's tuning outcome: dev means per point label, the chosen label, points tried."""

    row: str
    dev: dict[str, float]
    chosen: str
    tried: int


def choose(row: str, dev: dict[str, float], mode: str) -> Choice:
    """The point with the best dev mean; ties go to the first point in grid order."""
    if not dev:
        raise HarnessError(f"no dev score for any grid point of {row}", field="tuning.metric")
    best = max(dev, key=lambda k: dev[k]) if mode == "max" else min(dev, key=lambda k: dev[k])
    return Choice(row, dev, best, len(dev))
