"""One registry per concept (activation, norm, init, cell, optimizer, task): the only place a
concept's name is written. Config validation, widgets, theory, budget and benchmarks read them.

A registry behaves like the tuple of its names (``in``, iteration, ``len``, ``", ".join``), so it
can stand wherever a list of allowed values is read, and it stays live: an entry registered later
(a plug-in, a test) is allowed everywhere at once. An unknown name raises ``ConfigError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, Protocol, TypeVar


class Named(Protocol):
    name: str


E = TypeVar("E", bound=Named)


class Registry(Generic[E]):
    """Entries of one concept by name, in registration order."""

    def __init__(self, concept: str) -> None:
        self.concept = concept  # "activation", "normalisation", ...: used in messages
        self._entries: dict[str, E] = {}

    def register(self, entry: E) -> E:
        """Add an entry; a name can be registered once."""
        if entry.name in self._entries:
            raise ValueError(f"{self.concept} '{entry.name}' is already registered")
        self._entries[entry.name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove an entry (tests that register a temporary one)."""
        del self._entries[name]

    @contextmanager
    def added(self, entry: E) -> Iterator[E]:
        """Register ``entry`` for the duration of a ``with`` block."""
        self.register(entry)
        try:
            yield entry
        finally:
            self.unregister(entry.name)

    def __getitem__(self, name: str) -> E:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            from .errors import ConfigError

            raise ConfigError(
                f"unknown {self.concept} {name!r}; allowed: {', '.join(self._entries)}"
            ) from None

    def entries(self) -> list[E]:
        """Every entry, in registration order."""
        return list(self._entries.values())

    def names(self, where: Callable[[E], bool] | None = None) -> tuple[str, ...]:
        """Names of every entry, or of those ``where`` accepts."""
        return tuple(n for n, e in self._entries.items() if where is None or where(e))

    def view(self, where: Callable[[E], bool]) -> Selection:
        """A live selection of names (e.g. the tasks of one family)."""
        return Selection(self, where)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._entries))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return True  # an empty registry is still a list of allowed values, not "no choices"

    def __repr__(self) -> str:
        return f"Registry({self.concept}: {', '.join(self._entries)})"


class Selection:
    """The names of a registry's entries that satisfy a predicate, read afresh on every use."""

    def __init__(self, registry: Registry, where: Callable) -> None:
        self.registry, self.where = registry, where

    def _names(self) -> tuple[str, ...]:
        return self.registry.names(self.where)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __len__(self) -> int:
        return len(self._names())

    def __getitem__(self, i: int) -> str:
        return self._names()[i]

    def __add__(self, other) -> tuple[str, ...]:
        return self._names() + tuple(other)

    def __eq__(self, other: object) -> bool:
        return (
            self._names() == tuple(other) if isinstance(other, (tuple, list, Selection)) else False
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._names())
