"""Tile values, an LRU bounded in bytes, and single-flight: concurrent misses on one tile make one query."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable


class Tile:
    """A tile as served: gzip bytes (empty for an empty tile) and the strong ETags of both encodings."""

    __slots__ = ("gz", "etag", "etag_identity", "raw_size")

    def __init__(self, gz: bytes, raw_size: int) -> None:
        self.gz = gz
        self.raw_size = raw_size
        digest = hashlib.blake2b(gz, digest_size=10).hexdigest() if gz else "empty"
        # Two representations, two strong validators (RFC 9110 §8.8.3): never a gzip body for a plain ETag.
        self.etag = f'"{digest}"'
        self.etag_identity = f'"{digest}-identity"'

    @classmethod
    def from_raw(cls, raw: bytes) -> Tile:
        """Compress once, at generation time; responses never compress."""
        return cls(gzip.compress(raw, compresslevel=6, mtime=0) if raw else b"", len(raw))

    @property
    def nbytes(self) -> int:
        """Approximate memory held, for the LRU's byte bound."""
        return len(self.gz) + 200

    def raw(self) -> bytes:
        """Uncompressed body, for the rare client that refuses gzip."""
        return gzip.decompress(self.gz) if self.gz else b""


class LruCache:
    """Least-recently-used map bounded by the total size of its values."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[Hashable, Tile] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> Tile | None:
        """The cached tile, marked as recently used."""
        tile = self._items.get(key)
        if tile is not None:
            self._items.move_to_end(key)
        return tile

    def put(self, key: Hashable, tile: Tile) -> None:
        """Insert, then evict the least recently used until under the bound."""
        if tile.nbytes > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old.nbytes
        self._items[key] = tile
        self.bytes += tile.nbytes
        while self.bytes > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.bytes -= evicted.nbytes

    def clear(self) -> None:
        """Forget everything (a new tiles version)."""
        self._items.clear()
        self.bytes = 0


class SingleFlight:
    """Runs one coroutine per key at a time; callers arriving meanwhile await the same result.

    The shared task is shielded: a client that goes away (handler cancellation) does not cancel the work the
    other callers wait for.
    """

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def run(self, key: Hashable, make: Callable[[], Awaitable[Tile]]) -> tuple[Tile, bool]:
        """Result of `make()` for `key`, and whether this caller joined a call already running."""
        running = self._running.get(key)
        if running is not None:
            return await asyncio.shield(running), True
        task = asyncio.ensure_future(make())
        self._running[key] = task
        task.add_done_callback(lambda _: self._running.pop(key, None))
        return await asyncio.shield(task), False
