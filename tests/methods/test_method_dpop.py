"""DPO-Positive (Pal et al. 2024, v2 Eq. 3): the penalty sits inside the beta-scaled logit."""
import numpy as np
import pytest

from methods_testlib import losses_of, ref_dpo, ref_dpop, run_method, summed_batch, to_torch
from harness.methods import build_method


@pytest.mark.parametrize("beta,lambda_", [(0.3, 50.0), (0.1, 5.0), (1.0, 500.0), (0.3, 0.0)])
def test_against_numpy(beta, lambda_):
    d = summed_batch()
    np.testing.assert_allclose(losses_of("dpop", d, beta=beta, lambda_=lambda_), ref_dpop(d, beta, lambda_),
                               rtol=1e-12)


def _above_reference():
    d = summed_batch()
    d["pc"] = np.maximum(d["pc"], d["rc"])  # policy keeps yw at least as likely as the reference
    d["pc"][0] = d["rc"][0]  # exactly equal on one pair
    return d


@pytest.mark.parametrize("lambda_", [0.0, 5.0, 50.0, 500.0])
def test_penalty_is_exactly_zero_when_chosen_at_or_above_reference(lambda_):
    d = _above_reference()
    got = losses_of("dpop", d, beta=0.3, lambda_=lambda_)
    np.testing.assert_array_equal(got, losses_of("dpo", d, beta=0.3))  # bit-identical
    np.testing.assert_allclose(got, ref_dpo(d, 0.3), rtol=1e-12)
    _, metrics = run_method(build_method("dpop", {"lambda_": lambda_}), to_torch(d))
    assert metrics["dpop/penalty"].item() == 0.0


def test_loss_strictly_increases_with_lambda_when_chosen_below_reference():
    d = summed_batch()
    below = d["pc"] < d["rc"]
    assert below.any() and (~below).any()
    lambdas = [0.0, 0.5, 5.0, 50.0, 500.0]
    losses = np.stack([losses_of("dpop", d, beta=0.3, lambda_=lam) for lam in lambdas])
    assert np.all(np.diff(losses[:, below], axis=0) > 0)
    assert np.all(np.diff(losses[:, ~below], axis=0) == 0)


def test_lambda_zero_is_dpo_even_below_reference():
    d = summed_batch()
    np.testing.assert_array_equal(losses_of("dpop", d, beta=0.3, lambda_=0.0), losses_of("dpo", d, beta=0.3))


def test_penalty_metric_is_mean_shortfall():
    d = summed_batch()
    _, metrics = run_method(build_method("dpop"), to_torch(d))
    assert metrics["dpop/penalty"].item() == pytest.approx(np.maximum(0, d["rc"] - d["pc"]).mean())


def test_v2_bracketing_keeps_the_loss_bounded_by_beta_times_logit():
    """v1 put -lambda*max(.) outside the log-sigmoid; v2's form is -log sigma(beta*(h - lambda*p)),
    which for a 1-nat shortfall at lambda=50 is about beta*(50 - h), not 50 + DPO."""
    d = {k: v[:1] for k, v in summed_batch().items()}
    d["pc"], d["rc"], d["pr"], d["rr"] = np.array([-11.0]), np.array([-10.0]), np.array([-12.0]), np.array([-12.0])
    got = losses_of("dpop", d)[0]
    h = -1.0
    assert got == pytest.approx(np.logaddexp(0, -0.3 * (h - 50.0)), rel=1e-12)
