"""`python -m services.tiles`: serve tiles on REZONE_TILES_HOST:REZONE_TILES_PORT."""

from __future__ import annotations

from ..common.logs import setup_logging
from ..common.settings import load_settings
from ..common.web import run
from .app import create_app
from .settings import Settings


def main() -> None:
    """Entry point."""
    settings = load_settings(Settings, "REZONE_TILES_")
    setup_logging("tiles", settings.log_level)
    run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_timeout_s,
    )


if __name__ == "__main__":
    main()
