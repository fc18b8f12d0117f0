"""Aggregate fixtures: the service as a real process on the session's fully loaded database."""

from __future__ import annotations

import pytest

from .helpers import Oracle, sql

SEED_SIX = ["04181", "06122", "04028", "78062", "04084", "04121"]


@pytest.fixture(scope="session")
def agg_url(run_service) -> str:
    """Base URL of `python -m services.aggregate` running against the test database."""
    return run_service("services.aggregate")


@pytest.fixture(scope="session")
def oracle(database_url: str) -> Oracle:
    """Second implementation of the rules over the unmasked views."""
    return Oracle(database_url)


@pytest.fixture(scope="session")
def small_communes(database_url: str) -> list[str]:
    """Selectable communes with fewer than 50 consumers but some population (rule 1 triggers)."""
    rows = sql(
        database_url,
        """SELECT commune_code FROM stats.commune_profile
                                WHERE consumers < 50 AND population > 0 ORDER BY commune_code LIMIT 50""",
    )
    assert rows, "the demo data must contain communes under 50 consumers"
    return [r["commune_code"] for r in rows]
