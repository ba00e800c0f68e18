"""SFT: the loss is the chosen answer's mean token NLL, whatever the rejected answer is."""
import numpy as np

from methods_testlib import batch_for, losses_of


def test_loss_is_chosen_nll_and_ignores_rejected():
    d = batch_for("sft")
    np.testing.assert_array_equal(losses_of("sft", d), d["chosen_nll"])
    d2 = dict(d, pr=d["pr"] - 5.0)
    np.testing.assert_array_equal(losses_of("sft", d2), d["chosen_nll"])
