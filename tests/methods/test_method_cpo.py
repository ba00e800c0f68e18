"""CPO (Xu et al. 2024): reference-free sigmoid on summed log-probs + NLL of the chosen answer."""
import numpy as np
import pytest

from harness.methods import METHODS
from methods_testlib import batch_for, losses_of, np_logsigmoid, ref_cpo


@pytest.mark.parametrize("beta,alpha", [(0.1, 1.0), (0.5, 0.0), (1.0, 2.0)])
def test_against_numpy(beta, alpha):
    d = batch_for("cpo")
    np.testing.assert_allclose(losses_of("cpo", d, beta=beta, alpha=alpha), ref_cpo(d, beta, alpha), rtol=1e-12)


def test_summed_not_length_normalised_and_reference_free():
    assert METHODS.get("cpo").length_normalized is False
    assert METHODS.get("cpo").needs_reference is False


def test_nll_term_equals_chosen_nll():
    d = batch_for("cpo")
    prefer = -np_logsigmoid(0.1 * (d["pc"] - d["pr"]))
    np.testing.assert_allclose(losses_of("cpo", d) - prefer, d["chosen_nll"], rtol=1e-12)
    np.testing.assert_allclose(losses_of("cpo", d, alpha=0.0), prefer, rtol=1e-12)
