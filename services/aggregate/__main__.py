"""`python -m services.aggregate`: serve the aggregate API with settings from the environment."""

from __future__ import annotations

from ..common.web import serve
from .app import Settings, create_app

if __name__ == "__main__":
    serve("aggregate", Settings, "REZONE_AGGREGATE_", create_app)
