"""Health professionals per commune (SNDS-like extractions): demography by category with ages, and the
activity of a semester (patients, acts and coefficients). Formats in docs/data.md."""

from __future__ import annotations

from typing import Any

import asyncpg

from ..common.errors import ImportRejected
from .files import (
    Column,
    SourceFile,
    check_unique,
    copy_rows,
    decimal_1,
    matching,
    member_of,
    natural,
    optional_natural,
    read_csv,
    replace_source,
    selectable_communes,
    single_value,
)

_MONTHS = ("Janv", "Févr", "Mars", "Avr", "Mai", "Juin", "Juil", "Août", "Sept", "Oct", "Nov", "Déc")


def month_vintage(month: str) -> str:
    """'2024-11' -> 'Nov 2024', as the report prints the demography vintage."""
    year, m = month.split("-")
    return f"{_MONTHS[int(m) - 1]} {year}"


def semester_vintage(semester: str) -> str:
    """'2024-S1' -> 'S1 2024'."""
    year, s = semester.split("-")
    return f"{s} {year}"


async def _keys(conn: asyncpg.Connection, sql: str) -> frozenset[str]:
    return frozenset(r[0] for r in await conn.fetch(sql))


async def load_demography(conn: asyncpg.Connection, file: SourceFile) -> dict[str, Any]:
    """`code_commune;categorie;mois;effectif;effectif_60_plus;effectif_65_plus` -> health.ps_demography."""
    communes = await selectable_communes(conn)
    categories = {
        r["key"]: r["is_business"] for r in await conn.fetch("SELECT key, is_business FROM ref.ps_categories")
    }
    rows = read_csv(
        file,
        [
            Column("code_commune", member_of(communes, "selectable commune")),
            Column("categorie", member_of(frozenset(categories), "category")),
            Column("mois", matching(r"[0-9]{4}-(0[1-9]|1[0-2])", "month YYYY-MM")),
            Column("effectif", natural),
            Column("effectif_60_plus", optional_natural),
            Column("effectif_65_plus", optional_natural),
        ],
    )
    check_unique(file, rows, lambda r: (r[0], r[1]), "commune and category")
    month = single_value(file, rows, 2, "mois")
    for number, (_, category, _, n, n60, n65) in enumerate(rows, start=2):
        if categories[category]:
            if n60 is not None or n65 is not None:
                raise ImportRejected(
                    file.name, number, f"{category} is counted as businesses: ages must be empty"
                )
        elif n60 is None or n65 is None:
            raise ImportRejected(
                file.name, number, f"{category}: effectif_60_plus and effectif_65_plus required"
            )
        elif not n65 <= n60 <= n:
            raise ImportRejected(
                file.name, number, "expected effectif_65_plus <= effectif_60_plus <= effectif"
            )
    records = [(c, k, n, n60, n65, file.source) for c, k, _, n, n60, n65 in rows]

    async def write(c: asyncpg.Connection) -> None:
        await copy_rows(
            c,
            "health.ps_demography",
            ("commune_code", "category", "n", "n_60plus", "n_65plus", "source"),
            records,
            file=file,
        )

    await replace_source(conn, file, vintage=month_vintage(str(month)), row_count=len(records), write=write)
    return {"rows": len(records), "professionals": sum(r[2] for r in records if r[1] != "mg_mep")}


async def load_activity(conn: asyncpg.Connection, file: SourceFile) -> dict[str, Any]:
    """`code_commune;profession;semestre;effectif;patients` -> health.ps_activity."""
    communes = await selectable_communes(conn)
    professions = await _keys(conn, "SELECT DISTINCT profession FROM ref.act_types")
    rows = read_csv(
        file,
        [
            Column("code_commune", member_of(communes, "selectable commune")),
            Column("profession", member_of(professions, "profession with activity data")),
            Column("semestre", matching(r"[0-9]{4}-S[12]", "semester YYYY-S1|S2")),
            Column("effectif", natural),
            Column("patients", natural),
        ],
    )
    check_unique(file, rows, lambda r: (r[0], r[1]), "commune and profession")
    semester = single_value(file, rows, 2, "semestre")
    for number, row in enumerate(rows, start=2):
        if row[3] == 0:
            raise ImportRejected(
                file.name, number, "effectif must be at least 1 (omit communes without activity)"
            )
    records = [(c, p, n, patients, file.source) for c, p, _, n, patients in rows]

    async def write(c: asyncpg.Connection) -> None:
        await copy_rows(
            c,
            "health.ps_activity",
            ("commune_code", "profession", "n_ps", "patients", "source"),
            records,
            file=file,
        )

    await replace_source(
        conn, file, vintage=semester_vintage(str(semester)), row_count=len(records), write=write
    )
    return {"rows": len(records)}


async def load_acts(conn: asyncpg.Connection, file: SourceFile) -> dict[str, Any]:
    """`code_commune;type_acte;semestre;quantite` -> health.ps_acts (quantities may carry one decimal)."""
    communes = await selectable_communes(conn)
    act_types = await _keys(conn, "SELECT key FROM ref.act_types")
    rows = read_csv(
        file,
        [
            Column("code_commune", member_of(communes, "selectable commune")),
            Column("type_acte", member_of(act_types, "act type")),
            Column("semestre", matching(r"[0-9]{4}-S[12]", "semester YYYY-S1|S2")),
            Column("quantite", decimal_1),
        ],
    )
    check_unique(file, rows, lambda r: (r[0], r[1]), "commune and act type")
    semester = single_value(file, rows, 2, "semestre")
    records = [(c, a, q, file.source) for c, a, _, q in rows]

    async def write(c: asyncpg.Connection) -> None:
        await copy_rows(
            c, "health.ps_acts", ("commune_code", "act_type", "quantity", "source"), records, file=file
        )

    await replace_source(
        conn, file, vintage=semester_vintage(str(semester)), row_count=len(records), write=write
    )
    return {"rows": len(records)}
