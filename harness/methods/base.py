"""The Method seam: a named, pure loss on per-sequence log-probabilities.

The trainer adapter (harness.train.adapter) computes, for each preference pair, the policy's
log-probabilities of the chosen and rejected completions, and (for methods with
`needs_reference`) the reference model's, then calls `Method.loss`. A method never sees a model,
a tokenizer or a batch layout, so each loss is unit-testable against hand-computed values.

Log-probabilities are **summed** over completion tokens, unless the method sets
`length_normalized = True`, in which case the adapter passes the **mean** token log-prob
(ORPO, ASFT and SimPO are defined that way; DPO and its reference-based relatives are not).
"""
from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from harness.errors import HarnessError
from harness.registry import Registry

if TYPE_CHECKING:  # a method imports torch inside its loss, so listing methods imports no torch
    from torch import Tensor
LossOutput = tuple["Tensor", dict[str, "Tensor"]]


@dataclasses.dataclass(frozen=True)
class Params:
    """Base of every method's hyper-parameters. Subclasses are frozen dataclasses whose defaults
    are the values of the method's paper, and which validate ranges in `check`."""

    def check(self) -> None:  # overridden where a range matters
        return None


class Method(ABC):
    """A preference-alignment loss.

    Subclasses set the class attributes and implement `loss`. `extras` always holds:
      - ``chosen_nll``: per-example mean token negative log-likelihood of the chosen completion
        (the SFT term of ORPO, ASFT and RPO);
      - ``chosen_len`` / ``rejected_len``: per-example completion token counts (float tensors).
    """

    name: ClassVar[str]
    needs_reference: ClassVar[bool]
    length_normalized: ClassVar[bool] = False
    paper: ClassVar[str] = ""
    Params: ClassVar[type[Params]] = Params

    def __init__(self, params: Params | None = None) -> None:
        self.params = params if params is not None else self.Params()
        self.params.check()

    @abstractmethod
    def loss(self, policy_chosen: Tensor, policy_rejected: Tensor,
             ref_chosen: Tensor | None, ref_rejected: Tensor | None,
             **extras: Tensor) -> LossOutput:
        """Return (per-example loss of shape [batch], metrics of scalar tensors)."""


METHODS: Registry[type[Method]] = Registry("method")


def method(cls: type[Method]) -> type[Method]:
    """Class decorator: register a Method subclass under its `name`."""
    METHODS.add(cls.name, cls)
    return cls


def build_method(name: str, overrides: dict[str, Any] | None = None, *,
                 where: str = "methods") -> Method:
    """Instantiate a registered method, validating hyper-parameter names and ranges.

    Errors name the method and the field, e.g. ``methods[2] (dpop).lambda_: must be >= 0``.
    """
    cls = METHODS.get(name, field=where)
    overrides = dict(overrides or {})
    known = {f.name for f in dataclasses.fields(cls.Params)}
    for key in overrides:
        if key not in known:
            raise HarnessError(f"unknown hyper-parameter {key!r} for method {name!r}; "
                               f"valid: {', '.join(sorted(known)) or '(none)'}",
                               field=f"{where} ({name}).{key}")
    try:
        params = cls.Params(**overrides)
        return cls(params)
    except (ValueError, TypeError) as exc:
        raise HarnessError(str(exc), field=f"{where} ({name})") from None


def require(condition: bool, field: str, message: str) -> None:
    """Range check used inside `Params.check`: raises ValueError('field: message')."""
    if not condition:
        raise ValueError(f"{field}: {message}")


def log1mexp(x: Tensor) -> Tensor:
    """log(1 - exp(x)) for x < 0, computed stably (Maechler 2012)."""
    import torch
    x = torch.clamp(x, max=-1e-7)
    return torch.where(x > -0.6931471805599453, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def params_dict(m: Method) -> dict[str, Any]:
    return dataclasses.asdict(m.params)
