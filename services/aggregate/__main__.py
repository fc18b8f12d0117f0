"""`python -m services.aggregate`: serve the aggregate API with settings from the environment."""

from ..common.logs import setup_logging
from ..common.settings import load_settings
from ..common.web import run
from .app import Settings, create_app


def main() -> None:
    """Entry point."""
    settings = load_settings(Settings, "REZONE_AGGREGATE_")
    setup_logging("aggregate", settings.log_level)
    run(create_app(settings), host=settings.host, port=settings.port,
        shutdown_timeout=settings.shutdown_timeout_s)


if __name__ == "__main__":
    main()
