"""`python -m services.tiles`: serve tiles on REZONE_TILES_HOST:REZONE_TILES_PORT."""

from __future__ import annotations

from ..common.web import serve
from .app import create_app
from .settings import PREFIX, Settings

if __name__ == "__main__":
    serve("tiles", Settings, PREFIX, create_app)
