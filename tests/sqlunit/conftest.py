"""The small-fixture database: the real migrations and a hand-made dataset of five communes (fixture.sql).

Next to the national template of tests/conftest.py (a full demo load, minutes to build), this one is built in
seconds: the same migrations on an empty database, then fixture.sql, then the same view refresh as a load
(services.ingest.views). Its figures are small enough for a test to state its expected values by hand.
It is built into a template named after a digest of the migrations and the fixture (once per session on
the private cluster, once per change on a shared server, REZONE_TEST_PG_URL), cloned per session; each test
gets `small_db`, a connection inside a transaction rolled back at its end, so a test may add rows,
refresh views and call the api functions without disturbing the next one.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from services.ingest import migrate, views
from tests.conftest import session_copy

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixture.sql"
_LOCK_KEY = 0x534D4C  # "SML": serialises builds of the small template between concurrent sessions


def _fingerprint() -> str:
    digest = hashlib.sha256(FIXTURE.read_bytes())
    for m in migrate.discover():
        digest.update(f"{m.name}:{m.sha256}".encode())
    return digest.hexdigest()[:12]


async def _fill(conn: asyncpg.Connection) -> None:
    await migrate.migrate(conn)
    async with conn.transaction():
        await conn.execute(FIXTURE.read_text())
        await views.refresh(conn, concurrently=False)


@pytest.fixture(scope="session")
def small_database_url(pg_admin_url: str, role_passwords: dict[str, str]) -> Iterator[str]:
    """DSN of this session's copy of the small-fixture database (migrations + fixture.sql, views refreshed).

    `role_passwords` first: the migrations grant to the service roles, which must exist on a shared server.
    """
    yield from session_copy(pg_admin_url, f"small_{_fingerprint()}", _fill, "smalltest", _LOCK_KEY)


@pytest.fixture
async def small_db(small_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the small-fixture database inside a transaction rolled back after the test."""
    conn = await asyncpg.connect(small_database_url)
    tx = conn.transaction()
    await tx.start()
    try:
        yield conn
    finally:
        await tx.rollback()
        await conn.close()
