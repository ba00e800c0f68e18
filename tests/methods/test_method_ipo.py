"""IPO (Azar et al. 2023, Eq. 17) on per-token log-ratios, as TRL."""
import numpy as np
import pytest

from methods_testlib import losses_of, ref_ipo, summed_batch


@pytest.mark.parametrize("beta", [0.01, 0.1, 0.5, 1.0])
def test_against_numpy(beta):
    d = summed_batch()
    np.testing.assert_allclose(losses_of("ipo", d, beta=beta), ref_ipo(d, beta), rtol=1e-12)


def test_zero_exactly_at_the_target_margin():
    beta = 0.25
    d = summed_batch()
    # choose pc so that the per-token chosen log-ratio exceeds the rejected one by 1/(2 beta)
    target = 1 / (2 * beta)
    d["pc"] = d["rc"] + d["chosen_len"] * ((d["pr"] - d["rr"]) / d["rejected_len"] + target)
    np.testing.assert_allclose(losses_of("ipo", d, beta=beta), 0.0, atol=1e-20)


def test_per_token_normalisation():
    # doubling every length and every log-ratio leaves the per-token margin, hence the loss, unchanged
    d = summed_batch()
    d2 = dict(d, pc=d["rc"] + 2 * (d["pc"] - d["rc"]), pr=d["rr"] + 2 * (d["pr"] - d["rr"]),
              chosen_len=2 * d["chosen_len"], rejected_len=2 * d["rejected_len"])
    np.testing.assert_allclose(losses_of("ipo", d2), losses_of("ipo", d), rtol=1e-12)


def test_length_zero_is_clamped_to_one_like_trl():
    d = summed_batch()
    d["chosen_len"] = np.zeros_like(d["chosen_len"])
    got = losses_of("ipo", d)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, ref_ipo(d), rtol=1e-12)


def test_overshooting_the_margin_is_penalised():
    d = summed_batch()
    d["chosen_len"] = d["rejected_len"] = np.ones_like(d["pc"])
    d["rc"] = d["rr"] = d["pr"] = np.zeros_like(d["pc"])
    d["pc"] = np.array([0.0, 5.0, 10.0, 20.0, 40.0])  # target margin 1/(2*0.1) = 5
    got = losses_of("ipo", d)
    np.testing.assert_allclose(got, [25.0, 0.0, 25.0, 225.0, 1225.0], rtol=1e-12)
