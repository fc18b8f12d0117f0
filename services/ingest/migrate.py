"""Forward-only SQL migrations: `sql/migrations/V0001__name.sql`, each applied once, in one transaction.

State lives in the database (`schema_migrations`: version, name, sha256); an applied file whose bytes
changed is refused loudly, never re-run. An advisory lock serialises concurrent runners (several replicas
or a Kubernetes Job racing a developer).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "sql" / "migrations"
_NAME = re.compile(r"^V(\d{4})__([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x52455A4F  # "REZO": one lock for every migration runner of this project
log = logging.getLogger("rezone.migrate")


class MigrationError(RuntimeError):
    """A migration file is malformed, edited after being applied, or failed."""


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str
    sha256: str


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Migration files in version order; a stray or duplicate file is an error, not something to skip."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"{path.name}: name must look like V0001__snake_case.sql")
        version = int(m.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version} used twice")
        data = path.read_bytes()
        found[version] = Migration(version, m.group(2), data.decode(), hashlib.sha256(data).hexdigest())
    return [found[v] for v in sorted(found)]


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply pending migrations; returns the versions applied (empty when already up to date)."""
    migrations = discover(directory)
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute("""
            CREATE TABLE IF NOT EXISTS public.schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                sha256 text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())""")
        applied = {
            r["version"]: r for r in await conn.fetch("SELECT version, name, sha256 FROM schema_migrations")
        }
        known = {m.version for m in migrations}
        missing = sorted(set(applied) - known)
        if missing:
            raise MigrationError(f"database has migrations this code does not know: {missing}")
        done: list[int] = []
        for mig in migrations:
            row = applied.get(mig.version)
            if row is not None:
                if row["sha256"] != mig.sha256:
                    raise MigrationError(
                        f"V{mig.version:04d}__{mig.name}.sql was edited after being applied "
                        f"(recorded {row['sha256'][:12]}, file {mig.sha256[:12]}); "
                        "add a new migration instead"
                    )
                continue
            async with conn.transaction():
                try:
                    await conn.execute(mig.sql)
                except asyncpg.PostgresError as exc:
                    raise MigrationError(f"V{mig.version:04d}__{mig.name}.sql failed: {exc}") from exc
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)",
                    mig.version,
                    mig.name,
                    mig.sha256,
                )
            log.info("migration applied", extra={"version": mig.version, "migration": mig.name})
            done.append(mig.version)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
