"""Bootstrap CIs and paired bootstrap: correctness against a plain loop, determinism, power."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.report.bootstrap import (bootstrap_ci, bootstrap_means, mt_bench_ci,
                                      paired_bootstrap, paired_by_id, per_question_average)


def test_ci_contains_mean_and_shrinks_with_n() -> None:
    rng = np.random.default_rng(1)
    small = bootstrap_ci(rng.normal(50, 10, 20), seed=0)
    large = bootstrap_ci(rng.normal(50, 10, 2000), seed=0)
    for ci in (small, large):
        assert ci.lo <= ci.mean <= ci.hi
    assert (large.hi - large.lo) < (small.hi - small.lo) / 4
    assert (small.n, large.n) == (20, 2000)


def test_ci_is_deterministic_for_a_seed() -> None:
    x = np.random.default_rng(2).uniform(0, 100, 50)
    assert bootstrap_ci(x, seed=7) == bootstrap_ci(x, seed=7)
    assert bootstrap_ci(x, seed=7) != bootstrap_ci(x, seed=8)


def test_vectorised_matches_plain_loop() -> None:
    x = np.array([3.0, 7.0, 1.0, 9.0, 4.0, 4.5, 8.0])
    rng = np.random.default_rng(11)
    loop = np.array([x[rng.integers(0, len(x), size=len(x))].mean() for _ in range(200)])
    np.testing.assert_array_equal(bootstrap_means(x, 200, seed=11), loop)
    ci = bootstrap_ci(x, n_resamples=200, seed=11)
    assert (ci.lo, ci.hi) == pytest.approx(tuple(np.percentile(loop, [2.5, 97.5])))


def test_chunking_does_not_change_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.report.bootstrap as bs

    x = np.arange(10.0)
    whole = bs.bootstrap_means(x, 100, seed=3)
    monkeypatch.setattr(bs, "_CHUNK_ELEMENTS", 30)  # 3 resamples per chunk
    np.testing.assert_array_equal(bs.bootstrap_means(x, 100, seed=3), whole)


def test_empty_and_single_values() -> None:
    empty = bootstrap_ci([], seed=0)
    assert empty.n == 0 and np.isnan(empty.mean) and np.isnan(empty.lo)
    one = bootstrap_ci([5.0], seed=0)
    assert (one.mean, one.lo, one.hi, one.n) == (5.0, 5.0, 5.0, 1)


def test_paired_p_value_small_for_clear_difference_large_for_identical() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(30, 10, 60)
    better = base + 5 + rng.normal(0, 1, 60)
    clear = paired_bootstrap(better, base, seed=0)
    assert clear.p_value < 0.01 and clear.supported()
    assert clear.lo > 0 and clear.diff == pytest.approx((better - base).mean())
    same = paired_bootstrap(base, base.copy(), seed=0)
    assert same.p_value == 1.0 and not same.supported()
    symmetric = np.concatenate([np.linspace(0.1, 3, 30), -np.linspace(0.1, 3, 30)])  # mean exactly 0
    null = paired_bootstrap(base + symmetric, base, seed=0)
    assert abs(null.diff) < 1e-12 and null.p_value > 0.9 and null.lo < 0 < null.hi


def test_paired_p_value_is_calibrated_under_the_null() -> None:
    """With no true difference, p < 0.05 about 5% of the time (200 data sets: between 1% and 11%)."""
    rng = np.random.default_rng(11)
    base = rng.normal(30, 10, 60)
    rejections = sum(paired_bootstrap(base + rng.normal(0, 1, 60), base, n_resamples=2000, seed=i).p_value < 0.05
                     for i in range(200))
    assert 2 <= rejections <= 22, rejections


def test_paired_by_id_uses_shared_ids_regardless_of_order() -> None:
    a = pd.Series({"s1": 10.0, "s2": 20.0, "s3": 30.0, "s4": np.nan})
    b = pd.Series({"s3": 29.0, "s1": 9.0, "s2": 19.0, "s9": 0.0, "s4": 1.0})
    res = paired_by_id(a, b, seed=0)
    assert res.n == 3 and res.diff == pytest.approx(1.0)


def test_mt_bench_average_is_per_question() -> None:
    t1 = pd.Series({"q1": 8.0, "q2": 6.0, "q3": 4.0})
    t2 = pd.Series({"q1": 6.0, "q2": 2.0})  # q3 has no turn 2 -> not in the average
    avg = per_question_average([t1, t2])
    assert avg.to_dict() == {"q1": 7.0, "q2": 4.0}
    cis = mt_bench_ci(t1, t2, seed=0)
    assert cis["turn1"].n == 3 and cis["turn2"].n == 2 and cis["average"].n == 2
    assert cis["average"].mean == pytest.approx(5.5)
