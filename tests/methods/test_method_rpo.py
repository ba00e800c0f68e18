"""RPO (Pang et al. 2024): DPO + alpha * mean-token NLL of the chosen answer."""
import numpy as np
import pytest

from methods_testlib import losses_of, ref_rpo, summed_batch


@pytest.mark.parametrize("beta,alpha", [(0.1, 1.0), (0.5, 0.5), (0.1, 0.0)])
def test_against_numpy(beta, alpha):
    d = summed_batch()
    np.testing.assert_allclose(losses_of("rpo", d, beta=beta, alpha=alpha), ref_rpo(d, beta, alpha),
                               rtol=1e-12)


def test_alpha_zero_is_dpo():
    d = summed_batch()
    np.testing.assert_array_equal(losses_of("rpo", d, alpha=0.0), losses_of("dpo", d))


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_sft_term_equals_alpha_times_chosen_nll(alpha):
    d = summed_batch()
    np.testing.assert_allclose(losses_of("rpo", d, alpha=alpha) - losses_of("dpo", d), alpha * d["chosen_nll"],
                               rtol=1e-12)
    d2 = dict(d, chosen_nll=d["chosen_nll"] + 1.0)  # the term is read from extras["chosen_nll"]
    np.testing.assert_allclose(losses_of("rpo", d2, alpha=alpha) - losses_of("rpo", d, alpha=alpha), alpha,
                               rtol=1e-12)
