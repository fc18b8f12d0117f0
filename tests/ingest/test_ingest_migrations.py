"""Migrations on an empty database: a second run is a no-op, an edited applied migration fails loudly."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from services.ingest import migrate


def test_migrations_idempotent_and_edits_refused(make_empty_database, tmp_path: Path):
    """Synchronous test: the database factory runs its own event loop."""
    dsn = make_empty_database()

    async def body() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            applied = await migrate.migrate(conn)
            assert applied == [m.version for m in migrate.discover()] and applied[:3] == [1, 2, 3]
            assert await migrate.migrate(conn) == []
            edited = tmp_path / "migrations"
            shutil.copytree(migrate.MIGRATIONS_DIR, edited)
            target = edited / "V0003__stats_views.sql"
            target.write_text(target.read_text() + "\n-- an innocent-looking edit\n")
            with pytest.raises(
                migrate.MigrationError, match="V0003__stats_views.sql was edited after being applied"
            ):
                await migrate.migrate(conn, edited)
            assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(applied)
        finally:
            await conn.close()

    asyncio.run(body())
