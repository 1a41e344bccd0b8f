"""A bounded mapping that drops its least recently used entries: what the per-process caches keep."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LRU(Generic[V]):
    """At most ``max_entries`` values (and ``max_bytes`` of them, as ``size`` measures), by key."""

    def __init__(
        self, max_entries: int, max_bytes: int | None = None, size: Callable[[V], int] | None = None
    ) -> None:
        assert (max_bytes is None) == (size is None), "a byte limit needs a size function"
        self.max_entries, self.max_bytes, self._size = max_entries, max_bytes, size
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: Hashable) -> V | None:
        """Return the value kept under ``key`` (now the most recently used), or None."""
        found = self._values.get(key)
        if found is not None:
            self._values.move_to_end(key)
        return found

    def put(self, key: Hashable, value: V) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used beyond the limits."""
        if self._size is not None:
            old = self._values.get(key)
            self._bytes += self._size(value) - (0 if old is None else self._size(old))
        self._values[key] = value
        self._values.move_to_end(key)
        while len(self._values) > self.max_entries or (
            self.max_bytes is not None and self._bytes > self.max_bytes
        ):
            _, dropped = self._values.popitem(last=False)
            if self._size is not None:
                self._bytes -= self._size(dropped)

    def clear(self) -> None:
        """Drop every value."""
        self._values.clear()
        self._bytes = 0
