"""A small generic registry with did-you-mean errors for typos, and plug-ins from installed packages.

Every plug-in kind has one registry. Besides the project's own entries, a registry takes those an
installed package declares under its entry-point group (PLUGIN_GROUPS), read the first time a
name is not found or the names are listed, so a user's method, task or backend lives in the user's
own package. In the package's pyproject.toml:

    [project.entry-points."harness.methods"]
    my_dpo = "my_package.methods:MyDPO"
    [project.entry-points."harness.tasks"]
    my_task = "my_package.tasks:my_task"
"""
from __future__ import annotations

import difflib
import importlib
import importlib.metadata
from typing import Any, Callable, Generic, Iterator, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")

#: Entry-point group of each registry kind.
PLUGIN_GROUPS = {"method": "harness.methods", "metric": "harness.metrics", "task": "harness.tasks",
                 "generation backend": "harness.backends", "data loader": "harness.loaders",
                 "analysis": "harness.analyses", "executor": "harness.executors"}
#: Kinds whose registry holds "module:attr" strings, imported only when used (see load_object): a
#: plug-in of these kinds is not imported to be listed either. The other kinds hold the objects.
SPEC_KINDS = {"generation backend", "data loader", "analysis", "executor"}


class Registry(Generic[T]):
    """Name -> object. Unknown names fail with the valid choices and a close match."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._plugins_loaded = False

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
        if name not in self:
            raise HarnessError(self.unknown(name), file=file, field=field)
        return self._items[name]

    def unknown(self, name: str, also: tuple[str, ...] = ()) -> str:
        """The message for an unknown name: a close match and the valid names (`also` are valid
        values beside the registered ones, e.g. "auto")."""
        choices = [*also, *self.names()]
        close = difflib.get_close_matches(name, choices, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown {self.kind} {name!r}{hint}; valid: {', '.join(choices)}"

    def names(self) -> list[str]:
        self.load_plugins()
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        if name not in self._items:
            self.load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def load_plugins(self) -> None:
        """Add the entries installed packages declare under this kind's entry-point group (once)."""
        group = PLUGIN_GROUPS.get(self.kind)
        if self._plugins_loaded or group is None:
            return
        self._plugins_loaded = True
        for ep in importlib.metadata.entry_points(group=group):
            where = f"entry point {ep.name!r} = {ep.value!r} (group {group}"
            where += f", package {ep.dist.name})" if ep.dist else ")"
            if self.kind in SPEC_KINDS:
                if ":" not in ep.value:
                    raise HarnessError(f"plug-in {where} must name 'module:attr'")
                self.add(ep.name, ep.value)  # type: ignore[arg-type]
                continue
            try:
                obj = ep.load()  # a decorated plug-in (@method, @metric, @task) registers itself here
            except HarnessError as exc:
                raise HarnessError(f"plug-in {where}: {exc.one_line()}") from None
            except Exception as exc:  # a broken plug-in is named, not a traceback
                raise HarnessError(f"cannot load plug-in {where}: {type(exc).__name__}: {exc}") from None
            elsewhere = [name for name, item in self._items.items() if item is obj and name != ep.name]
            if elsewhere:  # else the one plug-in would be listed twice, under two names
                raise HarnessError(f"plug-in {where} registers itself as {self.kind} {elsewhere[0]!r}: "
                                   f"name the entry point {elsewhere[0]!r}")
            if ep.name not in self._items:
                self.add(ep.name, obj)


def load_object(spec: str) -> Any:
    """"package.module:attr" -> the object. Registries of heavy or optional plug-ins (vLLM) hold
    such strings, so naming a plug-in in a config imports nothing until it is used."""
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)
