"""Tile values as served, and the LRU of those built on request (`services.common.cache`)."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Hashable

from ..common.cache import ByteLRU


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


def tile_lru(max_bytes: int) -> ByteLRU[Hashable, Tile]:
    """The LRU of tiles built on request; no TTL, since a new tiles version clears it."""
    return ByteLRU(max_bytes, lambda key, tile: tile.nbytes)
