"""ASFT (loss as restated in [Blur] arXiv 2502.01237 §2.4, App. C)."""
import numpy as np
import pytest
import torch

from harness.methods import build_method
from methods_testlib import losses_of, mean_batch, np_log1mexp, ref_asft, ref_orpo, run_method, to_torch


@pytest.mark.parametrize("lambda_", [0.1, 0.2, 0.5, 1.0])
def test_against_numpy(lambda_):
    d = mean_batch()
    np.testing.assert_allclose(losses_of("asft", d, lambda_=lambda_), ref_asft(d, lambda_), rtol=1e-12)


def test_lambda_zero_is_exactly_the_chosen_nll():
    d = mean_batch()
    np.testing.assert_array_equal(losses_of("asft", d, lambda_=0.0), d["chosen_nll"])


@pytest.mark.parametrize("lambda_", [0.1, 1.0])
def test_closed_form_of_blur_theorem_c3(lambda_):
    # L_ASFT = -(1 + lambda) log pi(yw) - lambda log(1 - pi(yl)) when the SFT term is -log pi(yw)
    d = mean_batch()
    expected = -(1 + lambda_) * d["pc"] - lambda_ * np_log1mexp(d["pr"])
    np.testing.assert_allclose(losses_of("asft", d, lambda_=lambda_), expected, rtol=1e-12)


@pytest.mark.parametrize("lambda_", [0.1, 1.0])
def test_orpo_is_never_above_asft(lambda_):
    # [Blur] Theorem D.1 / Corollary D.2
    d = mean_batch()
    assert np.all(ref_orpo(d, lambda_) <= losses_of("asft", d, lambda_=lambda_) + 1e-12)
    assert np.all(losses_of("orpo", d, lambda_=lambda_) <= losses_of("asft", d, lambda_=lambda_) + 1e-12)


def test_pointwise_no_dependence_on_the_margin():
    # ASFT's align term has no yw-yl difference inside a sigmoid: shifting pc changes only pc's terms
    d = mean_batch()
    base = losses_of("asft", d)
    moved = losses_of("asft", dict(d, pr=d["pr"] - 0.1))
    np.testing.assert_allclose(base - moved, -(np_log1mexp(d["pr"]) - np_log1mexp(d["pr"] - 0.1)), rtol=1e-10)


def test_rejected_probability_near_one_is_finite():
    d = mean_batch()
    d["pr"] = np.array([-1e-12, 0.0, -1e-7, -1e-3, -30.0])
    t = to_torch(d, requires_grad=True)
    losses, _ = run_method(build_method("asft"), t)
    assert torch.isfinite(losses).all()
    losses.sum().backward()
    assert torch.isfinite(t["pr"].grad).all()
