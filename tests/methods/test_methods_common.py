"""Properties of the methods. Every registered method (a plug-in too) gets harness.methods.checks;
the shipped ones are also held to hand values: registry flags, agreement with the NumPy reference
on a batch and on a batch of one, equal log-probs, +-1e4 margins (right limit), gradients that
reach both answers, and build_method's range errors. `pytest tests/methods --method NAME` runs
one method's tests alone."""
from __future__ import annotations

import dataclasses
import importlib
import math

import numpy as np
import pytest
import torch

from harness.errors import HarnessError
from harness.methods import METHODS, build_method
from harness.methods.checks import CHECKS
from methods_testlib import (ALL_METHODS, LENGTH_NORMALIZED, REFERENCE_FREE, REFERENCES, batch_for, run_method,
                             take, to_torch)

M = 1e4  # a "very large" margin


def test_every_shipped_method_is_registered():
    assert set(ALL_METHODS) <= set(METHODS.names())


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("name", METHODS.names())
def test_registered_method_has_the_shared_properties(name, check):
    CHECKS[check](name)


def test_the_shared_checks_catch_a_loss_that_prefers_the_rejected_answer(monkeypatch):
    dpo = METHODS.get("dpo")

    class Backwards(dpo):
        name = "backwards"

        def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras):
            return super().loss(policy_rejected, policy_chosen, ref_rejected, ref_chosen, **extras)

    monkeypatch.setitem(METHODS._items, "backwards", Backwards)
    with pytest.raises(AssertionError, match="does not prefer the chosen answer"):
        CHECKS["extreme_margins"]("backwards")
    CHECKS["gradients"]("backwards")  # the others still hold


def test_the_shared_checks_catch_a_metric_that_is_not_detached(monkeypatch):
    dpo = METHODS.get("dpo")

    class Attached(dpo):
        name = "attached"

        def loss(self, policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras):
            losses, metrics = super().loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, **extras)
            return losses, {**metrics, "margin": (policy_chosen - policy_rejected).mean()}

    monkeypatch.setitem(METHODS._items, "attached", Attached)
    with pytest.raises(AssertionError, match="metric 'margin' is not detached"):
        CHECKS["loss_shape_dtype_metrics"]("attached")


@pytest.mark.parametrize("name", ALL_METHODS)
def test_flags_and_docs(name):
    cls = METHODS.get(name)
    assert cls.name == name
    assert cls.needs_reference is (name not in REFERENCE_FREE)
    assert cls.length_normalized is (name in LENGTH_NORMALIZED)
    assert cls.paper, "every method cites its paper"
    assert importlib.import_module(cls.__module__).__doc__, "every method file has a docstring"
    assert dataclasses.is_dataclass(cls.Params)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cls.Params().beta = 1.0  # frozen, whether or not the field exists


@pytest.mark.parametrize("name", ALL_METHODS)
def test_matches_numpy_reference_on_batch(name):
    d = batch_for(name)
    losses, metrics = run_method(build_method(name), to_torch(d))
    assert losses.shape == (len(d["pc"]),)
    assert losses.dtype == torch.float64
    np.testing.assert_allclose(losses.detach().numpy(), REFERENCES[name](d), rtol=1e-12, atol=1e-12)
    for key, value in metrics.items():
        assert isinstance(value, torch.Tensor) and value.dim() == 0, key
        assert torch.isfinite(value), key
        assert not value.requires_grad, key


@pytest.mark.parametrize("name", ALL_METHODS)
def test_batch_of_one(name):
    d = take(batch_for(name), [2])
    losses, _ = run_method(build_method(name), to_torch(d))
    assert losses.shape == (1,)
    np.testing.assert_allclose(losses.detach().numpy(), REFERENCES[name](d), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in ALL_METHODS if n != "kto"])
def test_per_example_losses_do_not_depend_on_the_rest_of_the_batch(name):
    d = batch_for(name)
    m = build_method(name)
    full = run_method(m, to_torch(d))[0].detach().numpy()
    for i in range(len(d["pc"])):
        alone = run_method(m, to_torch(take(d, [i])))[0].detach().numpy()
        np.testing.assert_allclose(alone, full[i:i + 1], rtol=1e-12)


def _equal_inputs(name):
    """pc == pr (and rc == rr): no preference signal at all."""
    if name in LENGTH_NORMALIZED:
        d = {"pc": [-0.8, -2.0], "pr": [-0.8, -2.0]}
        d["chosen_nll"] = [0.8, 2.0]
    else:
        d = {"pc": [-6.0, -30.0], "pr": [-6.0, -30.0], "rc": [-6.0, -28.0], "rr": [-6.0, -28.0]}
        d["chosen_nll"] = [1.5, 3.0]
    d.setdefault("rc", [np.nan, np.nan])
    d.setdefault("rr", [np.nan, np.nan])
    d["chosen_len"] = [4.0, 10.0]
    d["rejected_len"] = [4.0, 10.0]
    return {k: np.array(v, dtype=np.float64) for k, v in d.items()}


# Closed forms at equal log-probs with default parameters.
EQUAL_EXPECTED = {
    "dpo": lambda d: np.full(2, math.log(2)),
    "cdpo": lambda d: np.full(2, math.log(2)),
    "rdpo": lambda d: np.full(2, math.log(2)),
    "ipo": lambda d: np.full(2, (1 / (2 * 0.1)) ** 2),
    "slic": lambda d: np.ones(2),
    "rpo": lambda d: math.log(2) + d["chosen_nll"],
    "cpo": lambda d: math.log(2) + d["chosen_nll"],
    "simpo": lambda d: np.full(2, math.log1p(math.exp(1.0))),  # -log sigma(-gamma), gamma = 1
    "orpo": lambda d: d["chosen_nll"] + 0.1 * math.log(2),
    "sft": lambda d: d["chosen_nll"],
}


@pytest.mark.parametrize("name", ALL_METHODS)
def test_equal_log_probs(name):
    d = _equal_inputs(name)
    losses = run_method(build_method(name), to_torch(d))[0].detach().numpy()
    assert np.all(np.isfinite(losses))
    np.testing.assert_allclose(losses, REFERENCES[name](d), rtol=1e-12)
    if name in EQUAL_EXPECTED:
        np.testing.assert_allclose(losses, EQUAL_EXPECTED[name](d), rtol=1e-12)


def _margin_inputs(name, sign):
    """Lengths 1 so mean == sum. sign=+1: chosen far more likely than rejected; -1: the reverse."""
    if name in REFERENCE_FREE:
        good, bad = (-0.5, -M)
        pc, pr = (good, bad) if sign > 0 else (bad, good)
        d = {"pc": [pc], "pr": [pr], "rc": [np.nan], "rr": [np.nan]}
    else:
        good, bad = (-1.0, -1.0 - M)
        pc, pr = (good, bad) if sign > 0 else (bad, good)
        d = {"pc": [pc], "pr": [pr], "rc": [-1.0], "rr": [-1.0]}
    d["chosen_nll"] = [-pc]
    d["chosen_len"] = [1.0]
    d["rejected_len"] = [1.0]
    return {k: np.array(v, dtype=np.float64) for k, v in d.items()}


LO_ODDS_HALF = -0.5 - math.log(-math.expm1(-0.5))  # r_odds at mean log-prob -0.5
# Asymptotic values (default parameters) when the chosen answer wins / loses by M = 1e4.
LIMIT_WIN = {
    "sft": 0.5, "dpo": 0.0, "cdpo": 0.1 * 0.1 * M, "dpop": 0.0, "ipo": (M - 5.0) ** 2, "rdpo": 0.0,
    "rpo": 1.0, "kto": 0.25, "slic": 0.0, "orpo": 0.5, "asft": 0.5 + 1.0 * 0.5, "simpo": 0.0, "cpo": 0.5,
}
LIMIT_LOSE = {
    "sft": M, "dpo": 0.1 * M, "cdpo": 0.9 * 0.1 * M, "dpop": 0.3 * M * (1 + 50), "ipo": (M + 5.0) ** 2,
    "rdpo": 0.1 * M, "rpo": 0.1 * M + (M + 1.0), "kto": 0.75, "slic": 1 + 0.1 * M,
    "orpo": M + 0.1 * (M + LO_ODDS_HALF), "asft": M + 1.0 * (M - math.log(-math.expm1(-0.5))),
    "simpo": 2.0 * (M - 0.5 + 0.5), "cpo": 0.1 * (M - 0.5) + M,
}


@pytest.mark.parametrize("sign", [+1, -1], ids=["chosen_wins", "chosen_loses"])
@pytest.mark.parametrize("name", ALL_METHODS)
def test_large_margins_are_finite_and_reach_the_limit(name, sign):
    d = _margin_inputs(name, sign)
    t = to_torch(d, requires_grad=True)
    losses, metrics = run_method(build_method(name), t)
    assert torch.isfinite(losses).all()
    expected = (LIMIT_WIN if sign > 0 else LIMIT_LOSE)[name]
    assert losses.item() == pytest.approx(expected, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(losses.detach().numpy(), REFERENCES[name](d), rtol=1e-9, atol=1e-9)
    losses.sum().backward()
    for key in ("pc", "pr", "chosen_nll"):
        assert t[key].grad is None or torch.isfinite(t[key].grad).all(), key
    assert all(torch.isfinite(v) for v in metrics.values())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", ALL_METHODS)
def test_gradients_are_finite_and_flow(name, dtype):
    d = batch_for(name)
    t = {k: v.to(dtype) for k, v in to_torch(d).items()}
    for key in ("pc", "pr", "chosen_nll"):
        t[key].requires_grad_(True)
    losses, _ = run_method(build_method(name), t)
    assert losses.dtype == dtype
    losses.mean().backward()
    grads = {k: t[k].grad for k in ("pc", "pr", "chosen_nll")}
    for key, g in grads.items():
        assert g is None or torch.isfinite(g).all(), key
    # every method moves the chosen answer (through pc or its NLL) ...
    chosen_signal = [g for g in (grads["pc"], grads["chosen_nll"]) if g is not None]
    assert any(g.abs().sum() > 0 for g in chosen_signal)
    # ... and every preference method also looks at the rejected one
    if name != "sft":
        assert grads["pr"] is not None and grads["pr"].abs().sum() > 0


@pytest.mark.parametrize("name", ALL_METHODS)
def test_unknown_hyper_parameter_is_rejected(name):
    with pytest.raises(HarnessError) as info:
        build_method(name, {"no_such_knob": 1.0})
    message = str(info.value)
    assert name in message and "no_such_knob" in message


NUMERIC_FIELDS = [(name, f.name) for name in ALL_METHODS for f in dataclasses.fields(METHODS.get(name).Params)]


@pytest.mark.parametrize("name,field", NUMERIC_FIELDS, ids=[f"{n}.{f}" for n, f in NUMERIC_FIELDS])
def test_negative_hyper_parameter_is_rejected(name, field):
    with pytest.raises(HarnessError) as info:
        build_method(name, {field: -1.0}, where="methods[3]")
    message = str(info.value)
    assert f"({name})" in message and field in message and "methods[3]" in message


@pytest.mark.parametrize("name", [n for n in ALL_METHODS if any(f.name == "beta" for f in
                                                               dataclasses.fields(METHODS.get(n).Params))])
def test_zero_beta_is_rejected(name):
    with pytest.raises(HarnessError, match=rf"\({name}\).*beta"):
        build_method(name, {"beta": 0.0})


def test_wrong_type_is_a_harness_error():
    with pytest.raises(HarnessError, match=r"\(dpo\)"):
        build_method("dpo", {"beta": "0.1"})


def test_defaults_are_the_documented_paper_values():
    defaults = {name: dataclasses.asdict(METHODS.get(name).Params()) for name in ALL_METHODS}
    assert defaults == {
        "asft": {"lambda_": 1.0}, "cdpo": {"beta": 0.1, "label_smoothing": 0.1},
        "cpo": {"beta": 0.1, "alpha": 1.0}, "dpo": {"beta": 0.1}, "dpop": {"beta": 0.3, "lambda_": 50.0},
        "ipo": {"beta": 0.1}, "kto": {"beta": 0.1, "desirable_weight": 1.0, "undesirable_weight": 1.0},
        "orpo": {"lambda_": 0.1}, "rdpo": {"beta": 0.1, "alpha": 0.05}, "rpo": {"beta": 0.1, "alpha": 1.0},
        "sft": {}, "simpo": {"beta": 2.0, "gamma_beta_ratio": 0.5}, "slic": {"beta": 0.1},
    }
