"""ORPO (Hong et al. 2024, Eq. 6-7)."""
import numpy as np
import pytest
import torch

from harness.methods import build_method
from methods_testlib import losses_of, mean_batch, ref_asft, ref_orpo, run_method, to_torch


@pytest.mark.parametrize("lambda_", [0.05, 0.1, 0.25, 1.0])
def test_against_numpy(lambda_):
    d = mean_batch()
    np.testing.assert_allclose(losses_of("orpo", d, lambda_=lambda_), ref_orpo(d, lambda_), rtol=1e-12)


def test_lambda_zero_is_exactly_the_chosen_nll():
    d = mean_batch()
    np.testing.assert_array_equal(losses_of("orpo", d, lambda_=0.0), d["chosen_nll"])


def test_sft_term_is_chosen_nll_not_minus_policy_chosen():
    # the SFT term comes from extras["chosen_nll"]; make it differ from -pc to prove which is used
    d = mean_batch()
    d2 = dict(d, chosen_nll=d["chosen_nll"] + 1.0)
    np.testing.assert_allclose(losses_of("orpo", d2) - losses_of("orpo", d), 1.0, rtol=1e-12)


@pytest.mark.parametrize("lambda_", [0.1, 1.0])
def test_blur_identity_orpo_equals_asft_plus_log_term(lambda_):
    d = mean_batch()
    pw, pl = np.exp(d["pc"]), np.exp(d["pr"])
    expected = ref_asft(d, lambda_) + lambda_ * np.log(pw * (1 - pl) + pl * (1 - pw))
    np.testing.assert_allclose(losses_of("orpo", d, lambda_=lambda_), expected, rtol=1e-10)


def test_loss_increases_with_the_rejected_log_prob():
    d = mean_batch()
    assert np.all(losses_of("orpo", dict(d, pr=d["pr"] - 0.05)) < losses_of("orpo", d))


def test_log_odds_metric():
    d = mean_batch()
    _, metrics = run_method(build_method("orpo"), to_torch(d))
    odds = lambda p: p - np.log(-np.expm1(p))  # noqa: E731
    assert metrics["orpo/log_odds_ratio"].item() == pytest.approx(np.mean(odds(d["pc"]) - odds(d["pr"])))
    assert torch.isfinite(metrics["nll"])
