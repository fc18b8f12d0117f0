"""Label glyphs for MapLibre clients that do not draw text from local fonts (GL JS < 5.11, MapLibre Native).

The PBFs are built once, after `npm ci`, by web/tools/glyphs.mjs (fontnik, from the fonts the repository
bundles); the tiles service only looks them up. Their URL carries a digest of the font sources, so a glyph
answer is immutable and a font change reaches every cache under a new URL.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from aiohttp import web

log = logging.getLogger("rezone.tiles.glyphs")
RANGE = 256  # code points per PBF, as every glyph server and client counts them
LAST = 65535  # the Basic Multilingual Plane: what fontnik renders and the clients ask for


class Glyphs:
    """The glyph set on disk: its version (source digest) and the font names it has."""

    def __init__(self, root: Path) -> None:
        self.root = root
        manifest = root / "fonts.json"
        if manifest.is_file():
            doc = json.loads(manifest.read_text())
            self.version: str | None = str(doc["version"])
            self.fonts: tuple[str, ...] = tuple(doc["fonts"])
        else:
            log.warning("no glyph PBFs (run npm ci in web/)", extra={"dir": str(root)})
            self.version, self.fonts = None, ()

    def url(self, base: str) -> str | None:
        """The style's `glyphs` template, or None when nothing was built."""
        if self.version is None:
            return None
        return f"{base}/tiles/glyphs/{self.version}/{{fontstack}}/{{range}}.pbf"

    def path(self, fontstack: str, start: int, end: int) -> Path | None:
        """The PBF of a range for the first font of a comma-separated stack that we have (as other glyph
        servers answer a stack they cannot composite), or None."""
        if start % RANGE or end != start + RANGE - 1 or end > LAST:
            return None
        for name in (part.strip() for part in fontstack.split(",")):
            if name in self.fonts:
                return self.root / name / f"{start}-{end}.pbf"
        return None


GLYPHS = web.AppKey("glyphs", Glyphs)
