"""DPO (Rafailov et al. 2023, Eq. 7)."""
import math

import numpy as np
import pytest

from harness.methods import build_method
from methods_testlib import losses_of, ref_dpo, run_method, summed_batch, to_torch


@pytest.mark.parametrize("beta", [0.01, 0.1, 0.5, 2.0])
def test_against_numpy(beta):
    d = summed_batch()
    np.testing.assert_allclose(losses_of("dpo", d, beta=beta), ref_dpo(d, beta), rtol=1e-12)


def test_swapping_chosen_and_rejected_differs_by_beta_h():
    # -log s(x) - (-log s(-x)) = -x
    d = summed_batch()
    swapped = dict(d, pc=d["pr"], pr=d["pc"], rc=d["rr"], rr=d["rc"])
    h = (d["pc"] - d["rc"]) - (d["pr"] - d["rr"])
    np.testing.assert_allclose(losses_of("dpo", d) - losses_of("dpo", swapped), -0.1 * h, atol=1e-12)


def test_reward_metrics():
    d = summed_batch()
    _, metrics = run_method(build_method("dpo"), to_torch(d))
    chosen = 0.1 * (d["pc"] - d["rc"])
    rejected = 0.1 * (d["pr"] - d["rr"])
    assert metrics["rewards/chosen"].item() == pytest.approx(chosen.mean())
    assert metrics["rewards/rejected"].item() == pytest.approx(rejected.mean())
    assert metrics["rewards/margin"].item() == pytest.approx((chosen - rejected).mean())
    assert metrics["rewards/accuracy"].item() == pytest.approx((chosen > rejected).mean())


def test_gradient_is_minus_beta_sigma_of_minus_beta_h():
    d = summed_batch()
    t = to_torch(d, requires_grad=True)
    run_method(build_method("dpo"), t)[0].sum().backward()
    h = (d["pc"] - d["rc"]) - (d["pr"] - d["rr"])
    expected = -0.1 / (1 + np.exp(0.1 * h))
    np.testing.assert_allclose(t["pc"].grad.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(t["pr"].grad.numpy(), -expected, rtol=1e-12)
    assert math.isfinite(float(t["pc"].grad.sum()))
