"""KTO, paired (TRL kto_pair) form: batch-mean reference points, clamped at 0, detached."""
import numpy as np
import pytest
import torch

from harness.methods import build_method
from methods_testlib import losses_of, np_sigmoid, ref_kto, run_method, summed_batch, to_torch


@pytest.mark.parametrize("beta,wd,wu", [(0.1, 1.0, 1.0), (0.5, 1.33, 1.0), (0.05, 1.0, 0.75)])
def test_against_numpy(beta, wd, wu):
    d = summed_batch()
    np.testing.assert_allclose(losses_of("kto", d, beta=beta, desirable_weight=wd, undesirable_weight=wu),
                               ref_kto(d, beta, wd, wu), rtol=1e-12)


def _positive_kl_batch():
    d = summed_batch()
    d["pc"] = d["rc"] + np.array([2.0, 0.5, 3.0, -1.0, 1.0])   # mean chosen log-ratio 1.1 > 0
    d["pr"] = d["rr"] + np.array([0.5, 1.0, -0.2, 0.4, 0.8])   # mean rejected log-ratio 0.5 > 0
    return d


def test_reference_points_are_batch_means_of_the_other_half():
    d = _positive_kl_batch()
    rw, rl = d["pc"] - d["rc"], d["pr"] - d["rr"]
    z_w, z_l = rw.mean(), rl.mean()
    expected = ((1 - np_sigmoid(0.1 * (rw - z_l))) + (1 - np_sigmoid(0.1 * (z_w - rl)))) / 2
    np.testing.assert_allclose(losses_of("kto", d), expected, rtol=1e-12)
    _, metrics = run_method(build_method("kto"), to_torch(d))
    assert metrics["kto/z_chosen"].item() == pytest.approx(z_w)
    assert metrics["kto/z_rejected"].item() == pytest.approx(z_l)


def test_reference_points_are_clamped_at_zero():
    d = summed_batch()  # mean log-ratios: chosen -0.2, rejected -0.3 (both negative)
    rw, rl = d["pc"] - d["rc"], d["pr"] - d["rr"]
    assert rw.mean() < 0 and rl.mean() < 0
    expected = ((1 - np_sigmoid(0.1 * rw)) + (1 - np_sigmoid(-0.1 * rl))) / 2
    np.testing.assert_allclose(losses_of("kto", d), expected, rtol=1e-12)
    _, metrics = run_method(build_method("kto"), to_torch(d))
    assert metrics["kto/z_chosen"].item() == 0.0 and metrics["kto/z_rejected"].item() == 0.0


def test_no_gradient_flows_through_the_reference_points():
    d = _positive_kl_batch()
    t = to_torch(d, requires_grad=True)
    run_method(build_method("kto"), t)[0].sum().backward()
    rw, rl = d["pc"] - d["rc"], d["pr"] - d["rr"]
    z_w, z_l = rw.mean(), rl.mean()
    s_w = np_sigmoid(0.1 * (rw - z_l))
    s_l = np_sigmoid(0.1 * (z_w - rl))
    # d/dpc_i of sum_j loss_j: only loss_w_i depends on pc_i once z is detached
    np.testing.assert_allclose(t["pc"].grad.numpy(), -0.1 * s_w * (1 - s_w) / 2, rtol=1e-10)
    np.testing.assert_allclose(t["pr"].grad.numpy(), 0.1 * s_l * (1 - s_l) / 2, rtol=1e-10)


def test_batch_mean_matches_kto_pair_concatenated_mean():
    d = _positive_kl_batch()
    rw, rl = d["pc"] - d["rc"], d["pr"] - d["rr"]
    cat = np.concatenate([1 - np_sigmoid(0.1 * (rw - rl.mean())), 1 - np_sigmoid(0.1 * (rw.mean() - rl))])
    assert losses_of("kto", d).mean() == pytest.approx(cat.mean(), rel=1e-12)


def test_losses_are_bounded_by_the_weights():
    d = summed_batch()
    for scale in (1.0, 100.0, 1e4):
        d2 = dict(d, pc=d["rc"] + scale, pr=d["rr"] - scale)
        got = losses_of("kto", d2, desirable_weight=1.2, undesirable_weight=0.8)
        assert np.all((got >= 0) & (got <= (1.2 + 0.8) / 2))
    assert torch.isfinite(run_method(build_method("kto"), to_torch(d))[0]).all()
