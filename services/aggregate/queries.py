"""Database calls of the aggregate service: SQL functions returning masked JSON, decoded into Structs.

The service runs as `rezone_reader`, which can only execute `api.diagnosis`, `api.diagnosis_part` and
`api.summary`: every figure is masked before it leaves PostgreSQL; Python only decodes it into the contract.
"""

from __future__ import annotations

import asyncio
import json
from importlib.resources import files
from typing import Any, cast

import asyncpg
import msgspec

from ..common import contract as c
from ..common.db import DB_RETRY_AFTER_S, db_errors, pooled
from ..common.errors import Unavailable
from ..common.validation import EmptySelection, UnknownCommune, UnknownIndicator

_SQL = files(__package__).joinpath("queries")
_PART = _SQL.joinpath("diagnosis_part.sql").read_text()
_SUMMARY = _SQL.joinpath("summary.sql").read_text()
_READY = _SQL.joinpath("ready.sql").read_text()

# SQLSTATEs raised by api._checked_selection / api._part (V0020).
_ERRORS = {"RZ001": UnknownCommune, "RZ002": EmptySelection, "RZ003": UnknownIndicator}
_MESSAGES = {
    "RZ001": "commune(s) inconnue(s) ou non sélectionnable(s)",
    "RZ002": "la sélection ne contient aucune commune",
    "RZ003": "indicateur(s) ALD inconnu(s)",
}
# A query in flight when the server goes away is lost; a read is safe to run once more on a fresh connection.
_RETRYABLE = (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, ConnectionResetError)


class _TerritoryPart(msgspec.Struct, kw_only=True):
    data_version: str
    demo: bool
    sources: list[c.Source]
    secrecy_rules: list[c.SecrecyRule]
    territory: c.Territory
    communes: list[c.Commune]
    alerts: list[c.Alert]
    aci: c.Aci


class _IndicatorsPart(msgspec.Struct, kw_only=True):
    data_version: str
    population: c.PopulationSection
    access: list[c.Indicator]
    prevalences: c.Prevalences
    prevention: list[c.Indicator]
    vaccination: list[c.Indicator]


class _OfferPart(msgspec.Struct, kw_only=True):
    data_version: str
    offer: c.Offer


_PARTS: tuple[tuple[str, msgspec.json.Decoder[Any]], ...] = (
    ("territory", msgspec.json.Decoder(_TerritoryPart)),
    ("indicators", msgspec.json.Decoder(_IndicatorsPart)),
    ("offer", msgspec.json.Decoder(_OfferPart)),
)


# A diagnosis runs its parts at once, one connection each; the in-flight cap counts connections.
DIAGNOSIS_CONNECTIONS = len(_PARTS)
SUMMARY_CONNECTIONS = 1


async def api_ready(app_pool: asyncpg.Pool) -> None:
    """Readiness: the entry points exist and this role may execute them (migrations applied)."""
    async with db_errors():
        ok = await app_pool.fetchval(_READY)  # bounded by /readyz's ready_timeout_s
    if not ok:
        raise Unavailable("fonctions api absentes ou non autorisées : migrations non appliquées")


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, asyncpg.UndefinedFunctionError | asyncpg.InvalidSchemaNameError):
        return Unavailable("fonctions api absentes : migrations non appliquées")
    state = getattr(exc, "sqlstate", None)
    if state in _ERRORS:
        offenders = json.loads(getattr(exc, "detail", None) or "[]")
        detail = f"{_MESSAGES[state]} : {', '.join(offenders)}" if offenders else _MESSAGES[state]
        return _ERRORS[state](detail, offenders=offenders)
    return exc


async def _fetch_text(pool: asyncpg.Pool, query: str, *args: object, acquire_timeout: float) -> str:
    async with db_errors():
        for attempt in (1, 2):
            try:
                async with pooled(pool, acquire_timeout) as conn:
                    text: str = await conn.fetchval(query, *args)
                    return text
            except _RETRYABLE as exc:
                if attempt == 2:
                    raise Unavailable("base de données injoignable", retry_after=DB_RETRY_AFTER_S) from exc
            except asyncpg.PostgresError as exc:
                translated = _translate(exc)
                if translated is exc:
                    raise
                raise translated from None
    raise AssertionError("unreachable")


async def _parts(pool: asyncpg.Pool, codes: list[str], ald: list[str], acquire_timeout: float) -> list[Any]:
    # One query runs on one core: the three parts on three connections at once use every core available.
    results = await asyncio.gather(
        *(_fetch_text(pool, _PART, codes, ald, name, acquire_timeout=acquire_timeout) for name, _ in _PARTS),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [decoder.decode(cast(str, text)) for (_, decoder), text in zip(_PARTS, results, strict=True)]


async def diagnosis(
    pool: asyncpg.Pool, codes: list[str], ald: list[str], *, acquire_timeout: float
) -> c.Diagnosis:
    """The masked diagnosis of a validated selection, its three parts computed in parallel."""
    for _ in range(2):
        head, ind, off = await _parts(pool, codes, ald, acquire_timeout)
        # Parts come from three snapshots: a reload between them would mix two data versions.
        if head.data_version == ind.data_version == off.data_version:
            break
    else:
        raise Unavailable("données en cours de rechargement, réessayez", retry_after=1)
    return c.Diagnosis(
        data_version=head.data_version,
        demo=head.demo,
        sources=head.sources,
        secrecy_rules=head.secrecy_rules,
        territory=head.territory,
        communes=head.communes,
        alerts=head.alerts,
        population=ind.population,
        access=ind.access,
        prevalences=ind.prevalences,
        prevention=ind.prevention,
        vaccination=ind.vaccination,
        offer=off.offer,
        aci=head.aci,
    )


async def summary(pool: asyncpg.Pool, codes: list[str], *, acquire_timeout: float) -> c.Summary:
    """Header-bar figures of a validated selection."""
    return c.SUMMARY.decode(await _fetch_text(pool, _SUMMARY, codes, acquire_timeout=acquire_timeout))
