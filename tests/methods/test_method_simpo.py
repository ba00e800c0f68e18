"""SimPO (Meng et al. 2024, Eq. 6): reference-free, length-normalised, target margin gamma."""
import numpy as np
import pytest

from methods_testlib import losses_of, mean_batch, np_logsigmoid, ref_simpo


@pytest.mark.parametrize("beta,ratio", [(2.0, 0.5), (2.5, 0.3), (10.0, 0.3), (2.0, 0.0)])
def test_against_numpy(beta, ratio):
    d = mean_batch()
    np.testing.assert_allclose(losses_of("simpo", d, beta=beta, gamma_beta_ratio=ratio),
                               ref_simpo(d, beta, ratio), rtol=1e-12)


def test_gamma_is_beta_times_ratio():
    d = mean_batch()
    delta = d["pc"] - d["pr"]
    np.testing.assert_allclose(losses_of("simpo", d), -np_logsigmoid(2.0 * delta - 1.0), rtol=1e-12)


def test_depends_only_on_the_normalised_margin():
    d = mean_batch()
    shifted = dict(d, pc=d["pc"] - 0.3, pr=d["pr"] - 0.3, chosen_nll=d["chosen_nll"] + 7)
    np.testing.assert_allclose(losses_of("simpo", shifted), losses_of("simpo", d), rtol=1e-12)


def test_margin_makes_a_small_win_still_costly():
    d = mean_batch()
    d["pc"], d["pr"] = d["pr"] + 0.1, d["pr"]  # chosen ahead by 0.1 nats/token < gamma/beta = 0.5
    assert np.all(losses_of("simpo", d) > np.log(2))
