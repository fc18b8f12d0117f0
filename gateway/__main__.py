"""`python -m gateway`: read the settings, set up JSON logs, serve until SIGTERM."""

from services.common.logs import setup_logging
from services.common.settings import load_settings
from services.common.web import run

from .app import create_app
from .settings import PREFIX, Settings


def main() -> None:
    """Entry point."""
    settings = load_settings(Settings, PREFIX)
    setup_logging("gateway", settings.log_level)
    run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_timeout_s,
    )


if __name__ == "__main__":
    main()
