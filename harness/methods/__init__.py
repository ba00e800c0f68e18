"""Alignment methods, one file each. Importing a module registers it: this list is the registry."""
from harness.methods import asft, cdpo, cpo, dpo, dpop, ipo, kto, orpo, rdpo, rpo, simpo, sft, slic  # noqa: F401
from harness.methods.base import METHODS, Method, Params, build_method, method

__all__ = ["METHODS", "Method", "Params", "build_method", "method"]
