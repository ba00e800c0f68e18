"""cDPO: DPO with label smoothing eps."""
import math

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.methods import build_method
from methods_testlib import losses_of, ref_cdpo, ref_dpo, run_method, summed_batch, to_torch


@pytest.mark.parametrize("beta,eps", [(0.1, 0.1), (0.5, 0.25), (0.1, 0.0), (2.0, 0.49)])
def test_against_numpy(beta, eps):
    d = summed_batch()
    np.testing.assert_allclose(losses_of("cdpo", d, beta=beta, label_smoothing=eps), ref_cdpo(d, beta, eps),
                               rtol=1e-12)


def test_eps_zero_is_dpo():
    d = summed_batch()
    np.testing.assert_array_equal(losses_of("cdpo", d, label_smoothing=0.0), losses_of("dpo", d))


def test_is_the_mixture_of_dpo_on_both_labels():
    d = summed_batch()
    swapped = dict(d, pc=d["pr"], pr=d["pc"], rc=d["rr"], rr=d["rc"])
    expected = 0.8 * ref_dpo(d) + 0.2 * ref_dpo(swapped)
    np.testing.assert_allclose(losses_of("cdpo", d, label_smoothing=0.2), expected, rtol=1e-12)


@pytest.mark.parametrize("eps", [0.5, 0.7, -0.1])
def test_eps_outside_zero_half_is_rejected(eps):
    with pytest.raises(HarnessError, match=r"\(cdpo\).*label_smoothing"):
        build_method("cdpo", {"label_smoothing": eps})


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.3])
def test_conservative_optimum_at_finite_margin(eps):
    # the gradient vanishes where sigma(beta h) = 1 - eps, i.e. beta h = log((1 - eps) / eps)
    beta = 0.1
    h_star = math.log((1 - eps) / eps) / beta
    t = to_torch({"pc": [h_star - 4.0], "pr": [-4.0], "rc": [0.0], "rr": [0.0], "chosen_len": [3.0],
                  "rejected_len": [3.0], "chosen_nll": [1.0]}, requires_grad=True)
    losses, _ = run_method(build_method("cdpo", {"beta": beta, "label_smoothing": eps}), t)
    losses.sum().backward()
    assert abs(t["pc"].grad.item()) < 1e-12
    # and it grows again past the optimum (DPO would keep decreasing)
    far = losses_of("cdpo", {k: v.detach().numpy() + (5.0 if k == "pc" else 0.0) for k, v in t.items()},
                    label_smoothing=eps)
    assert far[0] > losses.item()
