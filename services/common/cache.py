"""One in-process cache for every service: an LRU bounded by the bytes it holds, with an optional TTL.

The gateway keeps upstream answers, search answers and versioned tiles in it, the tiles service the tiles it
built on request. Values are typed per instance (`ByteLRU[str, Entry]`), so a cache of one kind of value
cannot be handed another; how much a value weighs is the caller's function, since only the caller knows what
its value holds.

An entry past its TTL stays until evicted and is returned as not fresh: a caller whose upstream then fails
may still serve it (the gateway's `X-Cache: STALE`).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteLRU(Generic[K, V]):
    """Least-recently-used map bounded by the total weight of its entries; `get` says whether still fresh."""

    def __init__(
        self,
        max_bytes: int,
        weigh: Callable[[K, V], int],
        *,
        ttl_s: float = math.inf,
        max_entry_bytes: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes, self.weigh, self.ttl_s, self.clock = max_bytes, weigh, ttl_s, clock
        # One entry may not take more than this (default: the whole bound), so one huge answer cannot flush
        # every other entry.
        self.max_entry_bytes = min(max_bytes, max_entry_bytes or max_bytes)
        self._items: OrderedDict[K, tuple[V, float, int]] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> tuple[V, bool] | None:
        """(value, fresh) or None; a lookup makes the entry most recently used."""
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0], item[1] > self.clock()

    def fresh(self, key: K) -> V | None:
        """The value while fresh, else None."""
        found = self.get(key)
        return found[0] if found is not None and found[1] else None

    def put(self, key: K, value: V) -> None:
        """Store, then evict least recently used entries until under the byte bound."""
        size = self.weigh(key, value)
        if size > self.max_entry_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old[2]
        self._items[key] = (value, self.clock() + self.ttl_s, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, (_, _, evicted) = self._items.popitem(last=False)
            self.bytes -= evicted

    def clear(self) -> None:
        """Forget everything (a new data version)."""
        self._items.clear()
        self.bytes = 0
