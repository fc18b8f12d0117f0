"""Database side of the batch reports (reports.* of V0321, procrastinate's queue of V0320): one function per
statement, each taking a connection of the queue's read-write pool."""

from __future__ import annotations

import uuid
from importlib.resources import files
from typing import Any

import asyncpg


def _sql(name: str) -> str:
    return files(__package__).joinpath(f"queries/{name}.sql").read_text(encoding="utf-8")


_CREATE = _sql("batch_create")
_STATUS = _sql("batch_status")
_PDF = _sql("batch_pdf")
_CLAIM = _sql("batch_claim")
_DONE = _sql("batch_done")
_FAILED = _sql("batch_failed")
_EXPIRE = _sql("batch_expire")
_DEPTH = _sql("queue_depth")


async def create(
    conn: asyncpg.Connection, batch: uuid.UUID, requests: list[str], retention_h: float, queue: str, task: str
) -> int:
    """Write a batch, its reports and their jobs in one transaction; the number of jobs deferred."""
    async with conn.transaction():
        deferred: int = await conn.fetchval(_CREATE, batch, retention_h, requests, queue, task)
    return deferred


async def status(conn: asyncpg.Connection, batch: uuid.UUID) -> list[asyncpg.Record]:
    """The reports of a live batch in order (empty: unknown or expired)."""
    rows: list[asyncpg.Record] = await conn.fetch(_STATUS, batch)
    return rows


async def pdf(conn: asyncpg.Connection, batch: uuid.UUID, item: int, *, body: bool) -> asyncpg.Record | None:
    """One report's state, name, ETag and (when `body`) its PDF."""
    row: asyncpg.Record | None = await conn.fetchrow(_PDF, batch, item, body)
    return row


async def claim(conn: asyncpg.Connection, batch: uuid.UUID, item: int) -> str | None:
    """Take a report to make; None when it is made, failed or expired already."""
    request: str | None = await conn.fetchval(_CLAIM, batch, item)
    return request


async def done(
    conn: asyncpg.Connection, batch: uuid.UUID, item: int, pdf: bytes, etag: str, version: str
) -> None:
    """Store the PDF of a claimed report."""
    await conn.execute(_DONE, batch, item, pdf, etag, version)


async def failed(conn: asyncpg.Connection, batch: uuid.UUID, item: int, problem: str | None) -> None:
    """A claimed report failed for good (`problem`, JSON), or goes back to wait for a retry (None)."""
    await conn.execute(_FAILED, batch, item, problem)


async def expire(conn: asyncpg.Connection, queue: str) -> None:
    """Delete expired batches and the finished jobs of gone batches."""
    await conn.execute(_EXPIRE, queue)


async def depth(conn: asyncpg.Connection, queue: str) -> dict[str, Any]:
    """Jobs waiting and running in the queue."""
    row = await conn.fetchrow(_DEPTH, queue)
    return {"todo": row["todo"], "doing": row["doing"]}
