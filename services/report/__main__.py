"""`python -m services.report`: serve the report API until SIGTERM."""

from __future__ import annotations

from services.common.logs import setup_logging
from services.common.settings import load_settings
from services.common.web import run

from .app import Settings, create_app


def main() -> None:
    """Load settings from the environment and serve."""
    settings = load_settings(Settings, "REZONE_REPORT_")
    setup_logging("report", settings.log_level)
    run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_timeout_s,
    )


if __name__ == "__main__":
    main()
