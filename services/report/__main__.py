"""`python -m services.report`: serve the report API until SIGTERM."""

from __future__ import annotations

from ..common.web import serve
from .app import Settings, create_app

if __name__ == "__main__":
    serve("report", Settings, "REZONE_REPORT_", create_app)
