"""SLiC hinge in TRL's form: relu(1 - beta * h)."""
import numpy as np
import pytest

from harness.methods import build_method
from methods_testlib import losses_of, ref_slic, run_method, summed_batch, to_torch


@pytest.mark.parametrize("beta", [0.1, 0.5, 1.0])
def test_against_numpy(beta):
    d = summed_batch()
    np.testing.assert_allclose(losses_of("slic", d, beta=beta), ref_slic(d, beta), rtol=1e-12)


def test_zero_past_the_margin_and_linear_before():
    d = summed_batch()
    d["rc"] = d["rr"] = d["pr"] = np.zeros_like(d["pc"])
    d["pc"] = np.array([-3.0, 0.0, 5.0, 10.0, 30.0])  # beta = 0.1: margin 1/beta = 10
    np.testing.assert_allclose(losses_of("slic", d), [1.3, 1.0, 0.5, 0.0, 0.0], rtol=1e-12, atol=1e-15)
    t = to_torch(d, requires_grad=True)
    run_method(build_method("slic"), t)[0].sum().backward()
    np.testing.assert_allclose(t["pc"].grad.numpy(), [-0.1, -0.1, -0.1, 0.0, 0.0])
