"""Territorial references per commune: zonage médecin (ARS arrêtés), quartiers prioritaires (QPV) and the
perimeters of existing CPTS; plus the e-CDS typology of centres de santé. Formats in docs/data.md."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import asyncpg

from ..common.errors import ImportRejected
from .files import (
    Column,
    SourceFile,
    check_unique,
    copy_rows,
    matching,
    member_of,
    natural,
    non_empty,
    one_of,
    read_csv,
    replace_source,
    selectable_communes,
    single_value,
)

ZONAGES = ("ZIP", "ZAC", "HZ")
CPTS_STATUTS = ("aci_signe", "projet_valide", "lettre_intention")
# e-CDS typology as the observatory publishes it; the report prints the four types and « non typés » (the
# centres absent from the file), as the seed does.
CDS_TYPES = ("polyvalent", "medical", "dentaire", "infirmier")


def _iso_date(text: str) -> str:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date YYYY-MM-DD") from None
    return text


async def load_zonage(conn: asyncpg.Connection, file: SourceFile) -> dict[str, Any]:
    """`code_commune;zonage;date_arrete` (ZIP, ZAC or HZ = hors zonage) -> ref.zonage (ZIP and ZAC only)."""
    communes = await selectable_communes(conn)
    rows = read_csv(
        file,
        [
            Column("code_commune", member_of(communes, "selectable commune")),
            Column("zonage", one_of(*ZONAGES)),
            Column("date_arrete", _iso_date),
        ],
    )
    check_unique(file, rows, lambda r: r[0], "commune")
    records = [(code, zonage, file.source) for code, zonage, _ in rows if zonage != "HZ"]
    latest = max((r[2] for r in rows), default="")
    vintage = f"Arrêtés ARS au {dt.date.fromisoformat(latest):%d/%m/%Y}" if latest else "Arrêtés ARS"

    async def write(c: asyncpg.Connection) -> None:
        await copy_rows(c, "ref.zonage", ("commune_code", "zonage", "source"), records, file=file)

    await replace_source(conn, file, vintage=vintage, row_count=len(rows), write=write)
    return {
        "communes": len(rows),
        "zip": sum(r[1] == "ZIP" for r in records),
        "zac": sum(r[1] == "ZAC" for r in records),
    }


async def load_qpv(conn: asyncpg.Connection, file: SourceFile) -> dict[str, Any]:
    """`code_qp;lib_qp;insee_dep;insee_com;lib_com`, a line per QPV and commune -> ref.qpv, ref.qpv_communes.

    The columns are those of the national list of the 2024 generation (décret 2023-1314), hence its vintage.
    """
    communes = await selectable_communes(conn)
    rows = read_csv(
        file,
        [
            Column("code_qp", matching(r"Q[NP](0[0-9]{2}|02[AB]|97[0-9])[0-9]{3}[A-Z]?", "QPV code")),
            Column("lib_qp", non_empty),
            Column("insee_dep", matching(r"[0-9]{2}|2A|2B|97[0-9]", "département code")),
            Column("insee_com", member_of(communes, "selectable commune")),
            Column("lib_com", non_empty),
        ],
    )
    check_unique(file, rows, lambda r: (r[0], r[3]), "QPV and commune")
    names: dict[str, str] = {}
    for number, (code, name, dep, commune, _) in enumerate(rows, start=2):
        if names.setdefault(code, name) != name:
            raise ImportRejected(file.name, number, f"{code} named {name!r} here and {names[code]!r} before")
        if not commune.startswith(dep):
            raise ImportRejected(file.name, number, f"commune {commune} is not in département {dep}")
    links = [(code, commune) for code, _, _, commune, _ in rows]

    async def write(c: asyncpg.Connection) -> None:
        await c.execute("DELETE FROM ref.qpv WHERE source = $1", file.source)  # cascades to qpv_communes
        await c.executemany(
            "INSERT INTO ref.qpv (code, nom, source) VALUES ($1, $2, $3)",
            [(code, name, file.source) for code, name in names.items()],
        )
        await c.copy_records_to_table(
            "qpv_communes", schema_name="ref", records=links, columns=("qpv_code", "commune_code")
        )

    await replace_source(conn, file, vintage="Quartiers prioritaires 2024", row_count=len(rows), write=write)
    spanning: defaultdict[str, int] = defaultdict(int)
    for code, _ in links:
        spanning[code] += 1
    return {"qpv": len(names), "links": len(links), "multi_commune": sum(v > 1 for v in spanning.values())}


async def load_cpts(conn: asyncpg.Connection, file: SourceFile) -> dict[str, Any]:
    """`id;nom;statut;code_commune;date_situation`, a line per commune -> ref.cpts, ref.cpts_communes."""
    communes = await selectable_communes(conn)
    rows = read_csv(
        file,
        [
            Column("id", natural),
            Column("nom", non_empty),
            Column("statut", one_of(*CPTS_STATUTS)),
            Column("code_commune", member_of(communes, "selectable commune")),
            Column("date_situation", _iso_date),
        ],
    )
    check_unique(file, rows, lambda r: r[3], "commune (a commune belongs to one CPTS at most)")
    situation = single_value(file, rows, 4, "date_situation")
    cpts: dict[int, tuple[str, str]] = {}
    for number, (ident, name, statut, _, _) in enumerate(rows, start=2):
        if cpts.setdefault(ident, (name, statut)) != (name, statut):
            raise ImportRejected(file.name, number, f"CPTS {ident} named or classified differently before")
    links = [(ident, commune) for ident, _, _, commune, _ in rows]

    async def write(c: asyncpg.Connection) -> None:
        await c.execute("DELETE FROM ref.cpts WHERE source = $1", file.source)  # cascades to cpts_communes
        await c.executemany(
            "INSERT INTO ref.cpts (id, nom, statut, source) VALUES ($1, $2, $3, $4)",
            [(ident, name, statut, file.source) for ident, (name, statut) in cpts.items()],
        )
        await c.copy_records_to_table(
            "cpts_communes", schema_name="ref", records=links, columns=("cpts_id", "commune_code")
        )

    await replace_source(
        conn,
        file,
        vintage=f"CPTS au {dt.date.fromisoformat(str(situation)):%d/%m/%Y}",
        row_count=len(rows),
        write=write,
    )
    return {"cpts": len(cpts), "communes": len(links)}


async def load_ecds(conn: asyncpg.Connection, file: SourceFile) -> dict[str, Any]:
    """`nofinesset;raison_sociale;typologie;campagne` -> health.cds_types (others stay 'non typés')."""
    rows = read_csv(
        file,
        [
            Column("nofinesset", matching(r"[0-9A-Z]{9}", "FINESS number")),
            Column("raison_sociale", non_empty),
            Column("typologie", one_of(*CDS_TYPES)),
            Column("campagne", matching(r"[0-9]{4}", "year")),
        ],
    )
    check_unique(file, rows, lambda r: r[0], "nofinesset")
    campaign = rows[0][3] if rows else ""
    records = [(nofinesset, kind, file.source) for nofinesset, _, kind, _ in rows]

    async def write(c: asyncpg.Connection) -> None:
        await copy_rows(c, "health.cds_types", ("nofinesset", "cds_type", "source"), records, file=file)

    await replace_source(
        conn, file, vintage=f"Observatoire e-CDS {campaign}", row_count=len(records), write=write
    )
    return {"centres": len(records)}
