"""The map page: `web/index.html` at `/`, the rest of `web/` as static files.

HTML is revalidated on every load (it names the scripts); other files may be reused for a few minutes,
`vendor/` and `node_modules/` (pinned third-party builds) for a day; dot-files are never served. Until the
web application exists a placeholder page stands in.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.common.errors import NotFound

WEB_DIR = web.AppKey("web_dir", Path)

PLACEHOLDER = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Rézone CPTS</title></head>
<body><h1>Rézone CPTS</h1>
<p>L'application cartographique n'est pas encore installée. L'API est documentée sur
<a href="/api/v1/docs">/api/v1/docs</a>. Données de démonstration.</p></body></html>
"""


def default_web_dir() -> Path:
    """`web/` at the repository root, next to this package."""
    return Path(__file__).resolve().parents[1] / "web"


def _cache_control(relative: Path) -> str:
    if relative.suffix == ".html":
        return "no-cache"
    if relative.parts and relative.parts[0] in ("vendor", "node_modules"):
        return "public, max-age=86400"
    return "public, max-age=300"


async def index(request: web.Request) -> web.StreamResponse:
    """The page, or the placeholder while `web/index.html` does not exist."""
    page = request.app[WEB_DIR] / "index.html"
    if page.is_file():
        return web.FileResponse(page, headers={"Cache-Control": "no-cache"})
    return web.Response(text=PLACEHOLDER, content_type="text/html", headers={"Cache-Control": "no-cache"})


async def static_file(request: web.Request) -> web.StreamResponse:
    """A file under `web/`; never anything outside it (symlinks resolved before the check)."""
    root = request.app[WEB_DIR]
    relative = Path(request.match_info["path"])
    try:
        target = (root / relative).resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError):
        raise NotFound(f"{request.path} introuvable") from None
    hidden = any(part.startswith(".") for part in relative.parts)
    if hidden or not target.is_file() or not target.is_relative_to(root.resolve()):
        raise NotFound(f"{request.path} introuvable")
    return web.FileResponse(target, headers={"Cache-Control": _cache_control(relative)})
