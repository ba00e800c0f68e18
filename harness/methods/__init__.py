"""Alignment methods, one file each. Importing a module registers it: this list is the registry."""
from harness.methods import asft, dpo, dpop, orpo, sft  # noqa: F401
from harness.methods.base import METHODS, Method, Params, build_method, method

__all__ = ["METHODS", "Method", "Params", "build_method", "method"]
