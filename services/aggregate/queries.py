"""Database calls of the aggregate service: one SQL function each, returning contract Structs.

The service runs as `rezone_reader`, which can only execute `api.diagnosis` and `api.summary`: every figure is
masked before it leaves PostgreSQL and Python only decodes it into the contract.
"""

from __future__ import annotations

import json
from importlib.resources import files

import asyncpg

from ..common.contract import DIAGNOSIS, SUMMARY, Diagnosis, Summary
from ..common.db import db_errors
from ..common.errors import Unavailable
from .selection import EmptySelection, UnknownCommune, UnknownIndicator

_SQL = files(__package__).joinpath("queries")
_DIAGNOSIS = _SQL.joinpath("diagnosis.sql").read_text()
_SUMMARY = _SQL.joinpath("summary.sql").read_text()

# SQLSTATEs raised by api._checked_selection / api.diagnosis (V0021).
_ERRORS = {"RZ001": UnknownCommune, "RZ002": EmptySelection, "RZ003": UnknownIndicator}
_MESSAGES = {"RZ001": "commune(s) inconnue(s) ou non sélectionnable(s)",
             "RZ002": "la sélection ne contient aucune commune",
             "RZ003": "indicateur(s) ALD inconnu(s)"}
# A query in flight when the server goes away is lost; a read is safe to run once more on a fresh connection.
_RETRYABLE = (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, ConnectionResetError)


def _translate(exc: asyncpg.PostgresError) -> Exception:
    state = getattr(exc, "sqlstate", None)
    if state in _ERRORS:
        offenders = json.loads(exc.detail or "[]")
        detail = f"{_MESSAGES[state]} : {', '.join(offenders)}" if offenders else _MESSAGES[state]
        return _ERRORS[state](detail,
                              offenders=offenders)
    return exc


async def _fetch_text(pool: asyncpg.Pool, query: str, *args: object, acquire_timeout: float) -> str:
    async with db_errors():
        for attempt in (1, 2):
            try:
                async with pool.acquire(timeout=acquire_timeout) as conn:
                    return await conn.fetchval(query, *args)
            except _RETRYABLE as exc:
                if attempt == 2:
                    raise Unavailable("base de données injoignable") from exc
            except asyncpg.PostgresError as exc:
                translated = _translate(exc)
                if translated is exc:
                    raise
                raise translated from None
    raise AssertionError("unreachable")


async def diagnosis(pool: asyncpg.Pool, codes: list[str], ald: list[str], *,
                    acquire_timeout: float) -> Diagnosis:
    """The masked diagnosis of a validated selection."""
    return DIAGNOSIS.decode(await _fetch_text(pool, _DIAGNOSIS, codes, ald, acquire_timeout=acquire_timeout))


async def summary(pool: asyncpg.Pool, codes: list[str], *, acquire_timeout: float) -> Summary:
    """Header-bar figures of a validated selection."""
    return SUMMARY.decode(await _fetch_text(pool, _SUMMARY, codes, acquire_timeout=acquire_timeout))
