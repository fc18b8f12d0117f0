"""`python -m gateway`: read the settings, set up JSON logs, serve until SIGTERM."""

from __future__ import annotations

from services.common.web import serve

from .app import create_app
from .settings import PREFIX, Settings

if __name__ == "__main__":
    serve("gateway", Settings, PREFIX, create_app)
