"""R-DPO (Park et al. 2024): DPO with alpha * (|yw| - |yl|) added to the logit."""
import numpy as np
import pytest

from methods_testlib import losses_of, ref_rdpo, summed_batch


@pytest.mark.parametrize("beta,alpha", [(0.1, 0.05), (0.1, 0.0), (0.5, 0.2), (0.05, 1.0)])
def test_against_numpy(beta, alpha):
    d = summed_batch()
    np.testing.assert_allclose(losses_of("rdpo", d, beta=beta, alpha=alpha), ref_rdpo(d, beta, alpha),
                               rtol=1e-12)


def test_alpha_zero_or_equal_lengths_is_dpo():
    d = summed_batch()
    np.testing.assert_array_equal(losses_of("rdpo", d, alpha=0.0), losses_of("dpo", d))
    same = dict(d, rejected_len=d["chosen_len"])
    np.testing.assert_array_equal(losses_of("rdpo", same, alpha=0.3), losses_of("dpo", same))


def test_length_gap_enters_with_a_plus_sign():
    d = summed_batch()
    gap = d["chosen_len"] - d["rejected_len"]
    dpo = losses_of("dpo", d)
    rdpo = losses_of("rdpo", d, alpha=0.1)
    # longer chosen answer: part of the preference is "explained" by length, lower loss (less push)
    assert np.all(rdpo[gap > 0] < dpo[gap > 0])
    assert np.all(rdpo[gap < 0] > dpo[gap < 0])
    np.testing.assert_allclose(rdpo, np.logaddexp(0, -(0.1 * ((d["pc"] - d["rc"]) - (d["pr"] - d["rr"]))
                                                        + 0.1 * gap)), rtol=1e-12)
