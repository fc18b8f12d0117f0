"""`python -m services.aggregate`: serve the aggregate API with settings from the environment."""

from __future__ import annotations

from ..common.web import serve
from .app import create_app
from .settings import PREFIX, Settings

if __name__ == "__main__":
    serve("aggregate", Settings, PREFIX, create_app)
