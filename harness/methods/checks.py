"""Properties every registered method must have, shipped or a user's plug-in, runnable on one
method: `harness check-method NAME`, or `pytest tests/methods --method NAME` in a checkout.

Each check takes the method's registered name and raises AssertionError saying what is wrong.
They need no hand values (those are in tests/methods for the shipped methods): the loss has one
value per example, keeps the input dtype, is finite at equal log-probs and at margins of +-1e4,
prefers the chosen answer (lower loss when it wins by a wide margin than when it loses), has
finite gradients that reach the policy's log-probs, returns detached scalar metrics, and
reference-free methods never read the reference (they get None).
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from harness.errors import HarnessError
from harness.methods.base import METHODS, Method, Params, build_method

MARGIN = 1e4


def _inputs(method: Method, pc, pr, rc, rr, chosen_len, rejected_len, dtype=None, grad: bool = False) -> dict:
    """The loss's arguments as the trainer adapter passes them: summed or mean log-probs (mean
    when the method is length-normalised), chosen_nll consistent with them, None references for
    reference-free methods."""
    import torch
    dtype = dtype or torch.float64
    t = {k: torch.tensor(v, dtype=dtype) for k, v in
         dict(pc=pc, pr=pr, rc=rc, rr=rr, chosen_len=chosen_len, rejected_len=rejected_len).items()}
    if grad:
        t["pc"].requires_grad_(True)
        t["pr"].requires_grad_(True)
    t["chosen_nll"] = -t["pc"] if method.length_normalized else -t["pc"] / t["chosen_len"]
    return t


def _call(method: Method, t: dict):
    refs = (t["rc"], t["rr"]) if method.needs_reference else (None, None)
    return method.loss(t["pc"], t["pr"], *refs, chosen_nll=t["chosen_nll"], chosen_len=t["chosen_len"],
                       rejected_len=t["rejected_len"])


def _hand_batch(method: Method, **kw) -> dict:
    lens = dict(chosen_len=[5.0, 3.0, 10.0, 2.0, 4.0], rejected_len=[6.0, 2.0, 12.0, 2.0, 7.0])
    if method.length_normalized:  # mean token log-probs, some near 0 (probability near 1)
        return _inputs(method, [-1.2, -0.3, -2.5, -0.05, -0.7], [-1.5, -0.2, -3.0, -0.05, -0.01],
                       [-1.0, -0.4, -2.0, -0.1, -0.6], [-1.4, -0.3, -2.8, -0.1, -0.2], **lens, **kw)
    return _inputs(method, [-10.0, -5.0, -20.0, -3.0, -7.5], [-12.0, -4.0, -25.0, -3.0, -9.0],
                   [-11.0, -5.5, -18.0, -3.0, -7.0], [-11.5, -4.5, -24.0, -3.5, -8.0], **lens, **kw)


def check_declaration(name: str) -> None:
    """The class says what it is: its name, its flags, its paper, frozen dataclass parameters
    whose defaults pass their own range check."""
    cls = METHODS.get(name)
    assert issubclass(cls, Method), f"{cls!r} is not a harness Method subclass"
    assert cls.name == name, f"registered as {name!r} but its name is {cls.name!r}"
    assert isinstance(cls.needs_reference, bool), "needs_reference must be True or False"
    assert isinstance(cls.length_normalized, bool), "length_normalized must be True or False"
    assert cls.paper, "paper: cite where the loss comes from"
    assert dataclasses.is_dataclass(cls.Params) and issubclass(cls.Params, Params), \
        "Params must be a dataclass subclass of harness.Params"
    assert cls.Params.__dataclass_params__.frozen, "Params must be a frozen dataclass"
    cls.Params().check()


def check_loss_shape_dtype_and_metrics(name: str) -> None:
    """One finite loss per example, in the inputs' dtype (float64 and float32); the metrics are
    finite, detached scalar tensors (the policy's log-probs require grad, as in training, so a
    metric computed from them without .detach() is caught)."""
    import torch
    method = build_method(name)
    for dtype in (torch.float64, torch.float32):
        losses, metrics = _call(method, _hand_batch(method, dtype=dtype, grad=True))
        assert losses.shape == (5,), f"loss shape {tuple(losses.shape)}, expected one value per example (5,)"
        assert losses.dtype == dtype, f"loss dtype {losses.dtype} for {dtype} inputs"
        assert torch.isfinite(losses).all(), f"non-finite loss {losses.tolist()}"
        for key, value in metrics.items():
            assert isinstance(value, torch.Tensor) and value.dim() == 0, f"metric {key!r} is not a scalar tensor"
            assert torch.isfinite(value), f"metric {key!r} is not finite"
            assert not value.requires_grad, f"metric {key!r} is not detached"


def check_equal_log_probs(name: str) -> None:
    """No preference signal at all (chosen and rejected equally likely): a finite loss."""
    import torch
    method = build_method(name)
    lp = [-0.8, -2.0] if method.length_normalized else [-6.0, -30.0]
    losses, _ = _call(method, _inputs(method, lp, lp, lp, lp, [4.0, 10.0], [4.0, 10.0]))
    assert torch.isfinite(losses).all(), f"non-finite loss at equal log-probs: {losses.tolist()}"


def check_extreme_margins(name: str) -> None:
    """Margins of +-1e4: finite losses and gradients, and a lower loss when the chosen answer
    wins than when it loses."""
    import torch
    method = build_method(name)
    good, bad = (-0.5, -0.5 - MARGIN) if method.length_normalized else (-1.0, -1.0 - MARGIN)
    out = {}
    for case, (pc, pr) in {"chosen wins": (good, bad), "chosen loses": (bad, good)}.items():
        t = _inputs(method, [pc], [pr], [-1.0], [-1.0], [1.0], [1.0], grad=True)
        losses, _ = _call(method, t)
        assert torch.isfinite(losses).all(), f"{case} by {MARGIN:g}: non-finite loss {losses.tolist()}"
        losses.sum().backward()
        for key in ("pc", "pr"):
            g = t[key].grad
            assert g is None or torch.isfinite(g).all(), f"{case} by {MARGIN:g}: non-finite gradient on {key}"
        out[case] = losses.item()
    assert out["chosen wins"] < out["chosen loses"], \
        f"the loss does not prefer the chosen answer: {out['chosen wins']} (wins) >= {out['chosen loses']} (loses)"


def check_gradients(name: str) -> None:
    """Finite gradients (float32 and float64) that reach the policy's log-probs."""
    import torch
    method = build_method(name)
    for dtype in (torch.float64, torch.float32):
        t = _hand_batch(method, dtype=dtype, grad=True)
        losses, _ = _call(method, t)
        losses.mean().backward()
        grads = [t[k].grad for k in ("pc", "pr") if t[k].grad is not None]
        assert grads, "the loss has no gradient with respect to the policy's log-probs"
        assert all(torch.isfinite(g).all() for g in grads), f"non-finite gradient ({dtype})"
        assert any(g.abs().sum() > 0 for g in grads), f"zero gradient on the policy's log-probs ({dtype})"


def check_rejects_unknown_hyper_parameter(name: str) -> None:
    """A misspelt hyper-parameter is a one-line error naming the method and the field."""
    try:
        build_method(name, {"no_such_knob": 1.0})
    except HarnessError as exc:
        assert name in str(exc) and "no_such_knob" in str(exc), f"unclear error: {exc}"
        return
    raise AssertionError("an unknown hyper-parameter was accepted")


CHECKS: dict[str, Callable[[str], None]] = {
    "declaration": check_declaration,
    "loss_shape_dtype_metrics": check_loss_shape_dtype_and_metrics,
    "equal_log_probs": check_equal_log_probs,
    "extreme_margins": check_extreme_margins,
    "gradients": check_gradients,
    "unknown_hyper_parameter": check_rejects_unknown_hyper_parameter,
}


def run_checks(name: str) -> dict[str, str | None]:
    """{check: None if it passed, else the reason}, for the method registered as `name`."""
    METHODS.get(name, field="method")  # an unknown name: did-you-mean, before any check
    results: dict[str, str | None] = {}
    for check, fn in CHECKS.items():
        try:
            fn(name)
            results[check] = None
        except Exception as exc:  # noqa: BLE001 - a check reports any failure, it does not crash
            results[check] = f"{type(exc).__name__}: {exc}" if not isinstance(exc, AssertionError) else str(exc)
    return results
