"""A small generic registry with did-you-mean errors for typos."""
from __future__ import annotations

import difflib
import importlib
from typing import Any, Callable, Generic, Iterator, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> object. Unknown names fail with the valid choices and a close match."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj
        return decorator

    def add(self, name: str, obj: T) -> None:
        if name in self._items and self._items[name] is not obj:
            raise HarnessError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = obj

    def get(self, name: str, *, file: str | None = None, field: str | None = None) -> T:
        if name not in self._items:
            choices = sorted(self._items)
            close = difflib.get_close_matches(name, choices, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise HarnessError(f"unknown {self.kind} {name!r}{hint}; valid: {', '.join(choices)}",
                               file=file, field=field)
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def load_object(spec: str) -> Any:
    """"package.module:attr" -> the object. Registries of heavy or optional plug-ins (vLLM) hold
    such strings, so naming a plug-in in a config imports nothing until it is used."""
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)
