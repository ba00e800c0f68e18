"""Seeded percentile bootstrap: CIs of a mean, and paired differences against a baseline.

Why a bootstrap: the benchmarks here are small (tens to hundreds of samples) and the per-sample
scores are far from normal (BLEU is mostly near 0, exact match is 0/100, MT-Bench is 1-10
integers), so a percentile bootstrap of the mean is the honest, assumption-light interval.

Why paired: two models answer the same prompts, so per-sample differences remove the (large)
between-prompt variance; comparing two independent CIs would badly understate significance.

Why two-way with several training seeds: a score matrix (seeds x samples) has two sources of
chance, the training seed and the prompt drawn from the benchmark, and the same prompts are
answered under every seed (crossed, not nested). `crossed_bootstrap_means` draws seeds and
prompts independently with replacement, so the interval covers both; with one seed it is the
plain bootstrap exactly.

Everything is seeded (numpy's PCG64 via `default_rng(seed)`) so a report is reproducible
byte-for-byte, and vectorised (one `(B, n)` index matrix, chunked to bound memory).
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import pandas as pd

DEFAULT_RESAMPLES = 1000
_CHUNK_ELEMENTS = 2_000_000  # bound the (B, n) index matrix to ~16 MB per chunk


@dataclasses.dataclass(frozen=True)
class CI:
    """Mean of the samples and its percentile-bootstrap interval; NaNs when n == 0."""

    mean: float
    lo: float
    hi: float
    n: int


@dataclasses.dataclass(frozen=True)
class PairedResult:
    """Mean of (model - baseline) over shared samples, its CI and a two-sided p-value."""

    diff: float
    lo: float
    hi: float
    p_value: float
    n: int

    def supported(self, alpha: float = 0.05) -> bool:
        """True when the data reject "no difference" at level alpha."""
        return self.n > 0 and self.p_value < alpha


def bootstrap_means(values: np.ndarray, n_resamples: int = DEFAULT_RESAMPLES,
                    seed: int = 0) -> np.ndarray:
    """Means of `n_resamples` resamples (with replacement) of `values`.

    Resample b uses the b-th block of `n` draws of `rng.integers(0, n)`, i.e. exactly what a
    plain loop `for b in range(B): x[rng.integers(0, n, size=n)].mean()` computes, so the
    vectorised version can be checked against the obvious implementation.
    """
    x = np.asarray(values, dtype=float)
    n = x.size
    if n == 0:
        return np.full(n_resamples, np.nan)
    rng = np.random.default_rng(seed)
    out = np.empty(n_resamples)
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n_resamples, rows):
        stop = min(n_resamples, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = x[idx].mean(axis=1)
    return out


def crossed_bootstrap_means(matrix: np.ndarray, n_resamples: int = DEFAULT_RESAMPLES,
                            seed: int = 0) -> np.ndarray:
    """Means of resamples of a (seeds x samples) matrix that draw seeds and samples (columns)
    independently with replacement. One row: exactly bootstrap_means of that row."""
    x = np.asarray(matrix, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"expected a (seeds x samples) matrix, got shape {x.shape}")
    k, n = x.shape
    if k == 1 or n == 0:
        return bootstrap_means(x[0] if k else np.empty(0), n_resamples, seed)
    rng = np.random.default_rng(seed)
    out = np.empty(n_resamples)
    rows = max(1, _CHUNK_ELEMENTS // (n * k))
    for start in range(0, n_resamples, rows):
        stop = min(n_resamples, start + rows)
        samples = rng.integers(0, n, size=(stop - start, n))
        seeds = rng.integers(0, k, size=(stop - start, k))
        per_seed = x[:, samples].mean(axis=2).T  # (resamples, k): each seed's mean over drawn samples
        out[start:stop] = np.take_along_axis(per_seed, seeds, axis=1).mean(axis=1)
    return out


def percentile_interval(means: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central `level` interval of bootstrap means."""
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(means, [tail, 100.0 - tail])
    return float(lo), float(hi)


def bootstrap_ci(values: Sequence[float] | np.ndarray, n_resamples: int = DEFAULT_RESAMPLES,
                 seed: int = 0, level: float = 0.95) -> CI:
    """Percentile bootstrap CI of the mean of `values` (NaNs are not allowed here)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return CI(float("nan"), float("nan"), float("nan"), 0)
    lo, hi = percentile_interval(bootstrap_means(x, n_resamples, seed), level)
    return CI(float(x.mean()), lo, hi, int(x.size))


def crossed_ci(matrix: np.ndarray, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
               level: float = 0.95) -> CI:
    """CI of the mean of a (seeds x samples) matrix, resampling seeds and samples; n = samples."""
    x = np.asarray(matrix, dtype=float)
    if x.size == 0:
        return CI(float("nan"), float("nan"), float("nan"), 0)
    lo, hi = percentile_interval(crossed_bootstrap_means(x, n_resamples, seed), level)
    return CI(float(x.mean()), lo, hi, int(x.shape[1]))


def paired_bootstrap(values: Sequence[float] | np.ndarray,
                     baseline: Sequence[float] | np.ndarray,
                     n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                     level: float = 0.95) -> PairedResult:
    """Paired bootstrap of mean(values - baseline); arrays are aligned sample by sample.

    The p-value tests "mean difference is 0" by re-centring the bootstrap distribution on the
    null: p = (1 + #{|d*_b - d| >= |d|}) / (B + 1). The +1 keeps p > 0 (a finite number of
    resamples cannot prove p = 0); identical inputs give d* = d = 0 and so p = 1.
    """
    a = np.asarray(values, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired arrays differ in shape: {a.shape} vs {b.shape}")
    return paired_differences(np.atleast_2d(a - b), n_resamples, seed, level)


def paired_differences(d: np.ndarray, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                       level: float = 0.95) -> PairedResult:
    """Mean of a (seeds x samples) matrix of paired differences, its crossed-bootstrap CI and the
    re-centred p-value of paired_bootstrap; n = samples."""
    d = np.asarray(d, dtype=float)
    if d.size == 0:
        nan = float("nan")
        return PairedResult(nan, nan, nan, nan, 0)
    obs = float(d.mean())
    means = crossed_bootstrap_means(d, n_resamples, seed)
    lo, hi = percentile_interval(means, level)
    tol = 1e-12 * max(1.0, abs(obs))
    extreme = int(np.count_nonzero(np.abs(means - obs) >= abs(obs) - tol))
    p = (1 + extreme) / (n_resamples + 1)
    return PairedResult(obs, lo, hi, min(1.0, p), int(d.shape[1]))


def paired_by_id(values: pd.Series, baseline: pd.Series, n_resamples: int = DEFAULT_RESAMPLES,
                 seed: int = 0, level: float = 0.95) -> PairedResult:
    """Paired bootstrap on the sample ids both Series (indexed by sample_id) have scores for.

    Ids are sorted so the result does not depend on row order in scores.csv.
    """
    a = values.dropna()
    b = baseline.dropna()
    shared = sorted(set(a.index) & set(b.index), key=str)
    return paired_bootstrap(a.loc[shared].to_numpy(), b.loc[shared].to_numpy(),
                            n_resamples, seed, level)


def per_question_average(turns: Sequence[pd.Series]) -> pd.Series:
    """MT-Bench average: per question, the mean of its turn scores (all turns must be present).

    The question, not the turn, is the unit that was sampled from the benchmark, so turn 1 and
    turn 2 of a question are averaged first and the question is then the resampling unit.
    """
    if not turns:
        return pd.Series(dtype=float)
    frame = pd.concat(list(turns), axis=1)
    return frame.dropna().mean(axis=1)


def mt_bench_ci(turn1: pd.Series, turn2: pd.Series, n_resamples: int = DEFAULT_RESAMPLES,
                seed: int = 0, level: float = 0.95) -> dict[str, CI]:
    """CIs for turn 1, turn 2 and their per-question average, each resampled by question."""
    avg = per_question_average([turn1, turn2])
    return {name: bootstrap_ci(s.dropna().to_numpy(), n_resamples, seed, level)
            for name, s in (("turn1", turn1), ("turn2", turn2), ("average", avg))}
