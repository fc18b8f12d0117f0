"""The service's database role cannot read an unmasked count, whatever Python does."""

from __future__ import annotations

import asyncpg
import pytest

from services.aggregate.app import create_app
from services.aggregate.settings import Settings
from services.common.db import POOL

# aiohttp_client is a session-loop fixture (asyncio_default_fixture_loop_scope): run the tests on that loop.
pytestmark = pytest.mark.asyncio(loop_scope="session")

RAW_TABLES = [
    "health.indicator_counts",
    "health.consumers",
    "health.ps_activity",
    "health.ps_demography",
    "health.finess_et",
    "stats.commune_indicators",
    "stats.reference_indicators",
    "stats.commune_age_bands",
    "stats.commune_activity",
    "stats.commune_profile",
    "api.aci_parameters",
]


async def _reader(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url, server_settings={"role": "rezone_reader"})


@pytest.mark.parametrize("table", RAW_TABLES)
async def test_reader_is_refused_raw_tables(database_url: str, table: str) -> None:
    conn = await _reader(database_url)
    try:
        assert await conn.fetchval("SELECT current_user") == "rezone_reader"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch(f"SELECT * FROM {table} LIMIT 1")
    finally:
        await conn.close()


async def test_reader_may_only_call_the_entry_points(database_url: str) -> None:
    conn = await _reader(database_url)
    try:
        doc = await conn.fetchval("SELECT api.summary(ARRAY['04028'])::text")
        assert '"commune_count" : 1' in doc
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT api._aci(1000)")
    finally:
        await conn.close()
    admin = await asyncpg.connect(database_url)
    try:
        rows = await admin.fetch("""
            SELECT p.oid::regprocedure::text AS name,
                   has_function_privilege('rezone_reader', p.oid, 'EXECUTE') AS ok
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'api'""")
    finally:
        await admin.close()
    allowed = {r["name"] for r in rows if r["ok"]}
    assert allowed == {
        "api.diagnosis(text[],text[])",
        "api.diagnosis_part(text[],text[],text)",
        "api.summary(text[])",
    }
    assert len(rows) > 5


async def test_reset_role_does_not_escape(database_url: str) -> None:
    """The role is the session default: RESET ROLE and the pool's RESET ALL come back to it."""
    conn = await _reader(database_url)
    try:
        await conn.execute("RESET ALL")
        await conn.execute("RESET ROLE")
        assert await conn.fetchval("SELECT current_user") == "rezone_reader"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM stats.commune_indicators LIMIT 1")
    finally:
        await conn.close()


async def test_service_pool_runs_as_reader(aiohttp_client, database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, pool_min=1, pool_max=2))
    client = await aiohttp_client(app)
    resp = await client.get("/readyz")
    assert resp.status == 200
    async with app[POOL].acquire() as conn:
        assert await conn.fetchval("SELECT current_user") == "rezone_reader"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT numerator FROM stats.commune_indicators LIMIT 1")
