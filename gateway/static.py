"""The map page: `web/index.html` at `/`, and an explicit list of public files of `web/`, nothing else.

The list is derived at start-up from the manifest `web/public-files.txt` (entry points and files no served
file names literally) by following every reference of the HTML, CSS and JavaScript files it reaches: a new
module imported by main.js is served without touching anything, and package.json, tools/ or
node_modules/**/package.json never are. A request path is only ever a key looked up in that list: it never
reaches the file system, so a NUL byte, `..` or an encoded separator is a plain 404.

HTML is revalidated on every load (it names the scripts); other files may be reused for a few minutes,
`vendor/` and `node_modules/` (pinned third-party builds) for a day. Until the web application exists a
placeholder page stands in.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path

from aiohttp import web

from services.common.errors import NotFound

WEB_DIR = web.AppKey("web_dir", Path)
PUBLIC_FILES = web.AppKey("public_files", dict)
MANIFEST = "public-files.txt"
log = logging.getLogger("rezone.gateway.static")

PLACEHOLDER = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Rézone CPTS</title></head>
<body><h1>Rézone CPTS</h1>
<p>L'application cartographique n'est pas encore installée. L'API est documentée sur
<a href="/api/v1/docs">/api/v1/docs</a>. Données de démonstration.</p></body></html>
"""

# References a served file makes to others, by kind of file.
_HTML_REF = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"'#?]+)""", re.IGNORECASE)
_CSS_REF = re.compile(r"""url\(\s*["']?([^"')#?]+)""")
_JS_REF = re.compile(
    r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["'`]([^"'`]+)["'`]"""
    r"""|new\s+URL\(\s*["'`]([^"'`$]+)["'`]\s*,\s*import\.meta\.url"""
)
_PATH = re.compile(r"[\w@][\w./@-]*|\.{1,2}/[\w./@-]+")
_SOURCE_MAP = re.compile(r"""sourceMappingURL=([^\s*'"]+)""")
_FOLLOWED = {".html": (_HTML_REF,), ".css": (_CSS_REF, _SOURCE_MAP), ".js": (_JS_REF, _SOURCE_MAP)}
_FOLLOWED[".mjs"] = _FOLLOWED[".js"]


def default_web_dir() -> Path:
    """`web/` at the repository root, next to this package."""
    return Path(__file__).resolve().parents[1] / "web"


def public_files(root: Path) -> dict[str, Path]:
    """URL path (relative to /) → file, for the manifest's files and everything they reference."""
    root = root.resolve()
    manifest = root / MANIFEST
    if not manifest.is_file():
        return {}
    pending = [
        line.strip()
        for line in manifest.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    found: dict[str, Path] = {}
    # Names a pinned third-party build mentions are often modules it has inlined ("remarkable/linkify" in
    # Swagger UI's bundle), not files: only a missing file that we list or reference is worth a warning.
    vendored: set[str] = set()
    while pending:
        relative = posixpath.normpath(pending.pop())
        if relative in found or relative.startswith(("../", "/")) or relative == "..":
            continue
        target = (root / relative).resolve()
        if not target.is_file() or not target.is_relative_to(root) or target.name.startswith("."):
            if relative not in vendored:
                log.warning("public file listed or referenced but absent", extra={"path": relative})
            continue
        found[relative] = target
        for pattern in _FOLLOWED.get(target.suffix, ()):
            for match in pattern.finditer(target.read_text(errors="replace")):
                ref = next(g for g in match.groups() if g) if match.groups() else match.group(0)
                if re.match(r"^[a-z][a-z0-9+.-]*:|^//", ref, re.IGNORECASE) or not _PATH.fullmatch(ref):
                    continue  # data:, https:, blob:, prose that happens to say "from `…`": not our files
                pending.append(posixpath.join(posixpath.dirname(relative), ref))
                if relative.startswith("node_modules/"):
                    vendored.add(posixpath.normpath(pending[-1]))
    return found


def _cache_control(relative: str) -> str:
    if relative.endswith(".html"):
        return "no-cache"
    if relative.split("/", 1)[0] in ("vendor", "node_modules"):
        return "public, max-age=86400"
    return "public, max-age=300"


async def index(request: web.Request) -> web.StreamResponse:
    """The page, or the placeholder while `web/index.html` does not exist."""
    page = request.app[PUBLIC_FILES].get("index.html")
    if page is not None:
        return web.FileResponse(page, headers={"Cache-Control": "no-cache"})
    return web.Response(text=PLACEHOLDER, content_type="text/html", headers={"Cache-Control": "no-cache"})


async def static_file(request: web.Request) -> web.StreamResponse:
    """A listed public file; any other path (malformed ones included) is a 404 problem document."""
    relative = request.match_info["path"]
    target = request.app[PUBLIC_FILES].get(relative)
    if target is None:
        raise NotFound("ressource introuvable")
    return web.FileResponse(target, headers={"Cache-Control": _cache_control(relative)})
