"""Consumer-based data per commune (SNDS/DCIR and ATIH-like extractions): consumers by age band, and the
numerator/denominator counts of the ACI indicators with their period. Formats in docs/data.md."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import asyncpg

from ..common.errors import ImportRejected
from .files import (
    Column,
    SourceFile,
    check_unique,
    copy_rows,
    decode,
    gc_paused,
    member_of,
    natural,
    one_of,
    read_csv,
    replace_source,
    selectable_communes,
    single_value,
    split_lines,
)

AGE_BANDS = ("0-17", "18-39", "40-64", "65-79", "80+")
_INTERVAL = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})/([0-9]{4}-[0-9]{2}-[0-9]{2})")
_YEAR = re.compile(r"[0-9]{4}")
INDICATOR_HEADER = "code_commune;periode;indicateur;numerateur;denominateur"


def period_vintage(period: str) -> str:
    """'2023-07-01/2024-06-30' -> '01/07/2023–30/06/2024'; '2022' -> 'Année 2022'. ValueError otherwise."""
    if _YEAR.fullmatch(period):
        return f"Année {period}"
    m = _INTERVAL.fullmatch(period)
    if not m:
        raise ValueError(f"periode {period!r} is neither YYYY nor YYYY-MM-DD/YYYY-MM-DD")
    start, end = dt.date.fromisoformat(m.group(1)), dt.date.fromisoformat(m.group(2))
    if end < start:
        raise ValueError(f"periode {period!r} ends before it starts")
    return f"{start:%d/%m/%Y}–{end:%d/%m/%Y}"


async def load_consumers(conn: asyncpg.Connection, file: SourceFile) -> dict[str, Any]:
    """`code_commune;periode;tranche_age;consommants` -> health.consumers."""
    communes = await selectable_communes(conn)
    rows = read_csv(
        file,
        [
            Column("code_commune", member_of(communes, "selectable commune")),
            Column("periode", str),
            Column("tranche_age", one_of(*AGE_BANDS)),
            Column("consommants", natural),
        ],
    )
    check_unique(file, rows, lambda r: (r[0], r[2]), "commune and age band")
    period = str(single_value(file, rows, 1, "periode"))
    try:
        vintage = period_vintage(period)
    except ValueError as exc:
        raise ImportRejected(file.name, 2, str(exc)) from None
    records = [(c, band, n, file.source) for c, _, band, n in rows]

    async def write(c: asyncpg.Connection) -> None:
        await copy_rows(
            c, "health.consumers", ("commune_code", "age_band", "n", "source"), records, file=file
        )

    await replace_source(conn, file, vintage=vintage, row_count=len(records), write=write)
    return {"rows": len(records), "consumers": sum(r[2] for r in records)}


def parse_indicators(
    file: SourceFile, communes: frozenset[str], units: dict[str, str]
) -> tuple[str, list[tuple[Any, ...]]]:
    """Period and records of an indicator file; `units` maps the indicator ids this file may carry to their
    unit ('pct': numerator is a subset of the denominator; 'per100': a rate, numerator may exceed it).

    A hand-rolled loop rather than `read_csv`: the DCIR file has ~1.7 M lines and this is the load's hot path.
    """
    text, _ = decode(file.name, file.path.read_bytes())
    lines = split_lines(file.name, text)
    if not lines or lines[0] != INDICATOR_HEADER:
        raise ImportRejected(file.name, 1, f"header must be {INDICATOR_HEADER!r}")
    if len(lines) < 2:
        raise ImportRejected(file.name, None, "no data line")
    period = lines[1].split(";")[1] if lines[1].count(";") == 4 else ""
    source = file.source
    seen: dict[str, set[str]] = {ind: set() for ind in units}
    records: list[tuple[Any, ...]] = []
    append = records.append
    with gc_paused():
        for number, line in enumerate(lines[1:], start=2):
            fields = line.split(";")
            if len(fields) != 5:
                raise ImportRejected(file.name, number, f"{len(fields)} fields, expected 5")
            code, line_period, indicator, num, den = fields
            if code not in communes:
                raise ImportRejected(file.name, number, f"code_commune: unknown selectable commune {code!r}")
            if line_period != period:
                raise ImportRejected(
                    file.name, number, f"periode {line_period!r} differs from the first line's {period!r}"
                )
            unit = units.get(indicator)
            if unit is None:
                raise ImportRejected(
                    file.name,
                    number,
                    f"indicateur: {indicator!r} is not an indicator of this "
                    f"file ({', '.join(sorted(units))})",
                )
            if not (num.isdigit() and den.isdigit() and num.isascii() and den.isascii()):
                raise ImportRejected(
                    file.name,
                    number,
                    f"numerateur {num!r} and denominateur {den!r} must be non-negative integers",
                )
            n, d = int(num), int(den)
            if unit == "pct" and n > d:
                raise ImportRejected(file.name, number, f"numerateur {n} exceeds denominateur {d}")
            codes = seen[indicator]
            if code in codes:
                raise ImportRejected(file.name, number, f"duplicate indicator {indicator} for commune {code}")
            codes.add(code)
            append((indicator, code, n, d, source))
    return period, records


async def load_indicators(conn: asyncpg.Connection, file: SourceFile, source_key: str) -> dict[str, Any]:
    """`code_commune;periode;indicateur;numerateur;denominateur` -> health.indicator_counts, for the
    indicators whose ref.indicators.source_key is `source_key` ('dcir', 'atih' or 'dcir_grippe')."""
    communes = await selectable_communes(conn)
    units = {
        r["id"]: r["unit"]
        for r in await conn.fetch("SELECT id, unit FROM ref.indicators WHERE source_key = $1", source_key)
    }
    period, records = parse_indicators(file, communes, units)
    try:
        vintage = period_vintage(period)
    except ValueError as exc:
        raise ImportRejected(file.name, 2, str(exc)) from None

    async def write(c: asyncpg.Connection) -> None:
        await copy_rows(
            c,
            "health.indicator_counts",
            ("indicator_id", "commune_code", "numerator", "denominator", "source"),
            records,
            file=file,
        )

    await replace_source(conn, file, vintage=vintage, row_count=len(records), write=write)
    return {"rows": len(records), "indicators": len({r[0] for r in records})}
