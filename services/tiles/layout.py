"""Where a tile pyramid lives on disk: read by the serving code, written by the build (tiles/build/)."""

from __future__ import annotations

from pathlib import Path

DONE = "complete"  # marker written last: an archive directory without it is an interrupted build


def archive_path(pyramid_dir: Path, version: str, tileset: str) -> Path:
    """Where the archive of one tileset of one tiles version lives."""
    return pyramid_dir / version / f"{tileset}.pmtiles"
