"""`python -m services.report`: serve the report API until SIGTERM."""

from __future__ import annotations

from ..common.web import serve
from .app import create_app
from .settings import PREFIX, Settings

if __name__ == "__main__":
    serve("report", Settings, PREFIX, create_app)
