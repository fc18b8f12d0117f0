"""Demo FINESS géographique written in the etalab extraction format (Latin-1), and the e-CDS typology of its
centres de santé.

Each point is drawn inside its commune by PostGIS (ST_GeneratePoints with a fixed seed) and written in the
CRS of its territory; a few rows are geocoded on the commune centroid (ADMIN-EXPRESS, score '.'), a few have
no point at all, and some use the old 7-token `sourcecoordet`. Paris, Lyon and Marseille establishments
carry the city code, as in FINESS, and the postcode of their arrondissement.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import numpy as np

from .base import Communes, stream, upper_ascii, write_lines
from .finess import AGGREGATES, ECDS_PRESENT, OTHER_LABELS, place
from .territory import Cpts

EXTRACTION_DATE = "2024-11-08"
FILE_NAME = "etalab-cs1100507-stock-20241108-0336.csv"
FINESS_DEP = {"971": "9A", "972": "9B", "973": "9C", "974": "9D", "976": "9F"}
EPSG_OF_DEP = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}
CRS_LABEL = {
    2154: "EPSG:2154 RGF93 / Lambert-93 (Métropole)",
    5490: "EPSG:5490 RGAF09/UTM Zone 20N (Antilles)",
    2972: "EPSG:2972 RGFG95/UTM zone 22N (Guyane)",
    2975: "EPSG:2975 RGR92/UTM zone 40S (Réunion)",
    4471: "EPSG:4471 RGM04/UTM zone 38S (Mayotte)",
}
OLD_TOKEN = {2154: "LAMBERT_93", 5490: "UTM_N20", 2972: "UTM_N22", 2975: "UTM_S40", 4471: "UTM_S38"}
SHARE_NO_POINT, SHARE_CENTROID, SHARE_OLD_FORMAT = 0.003, 0.03, 0.12
STREETS = tuple(
    "DE LA REPUBLIQUE|JEAN JAURES|DU GENERAL DE GAULLE|PASTEUR|VICTOR HUGO|DES ECOLES|DE LA GARE|"
    "DU MOULIN|DE L EGLISE|DES TILLEULS|DE PARIS|DU STADE|GAMBETTA".split("|")
)
STREET_TYPES = ("R", "AV", "BD", "PL", "CHE", "RTE", "ALL", "IMP")


def _luhn_key(body: str) -> str:
    digits = [int(ch) if ch.isdigit() else 0 for ch in body]
    total = 0
    for pos, d in enumerate(reversed(digits)):
        d = d * 2 if pos % 2 == 0 else d
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _number(dep: str, seq: int) -> str:
    prefix = dep + "0" if len(dep) == 2 else "97" + dep[2]
    body = f"{prefix}{seq:05d}"
    return body + _luhn_key(body)


async def _points(
    conn: asyncpg.Connection, c: Communes, need: dict[int, int]
) -> dict[int, list[tuple[str, str]]]:
    """`need[unit] = n` points inside each unit, in the CRS of its territory, as text rounded to 0.1 m."""
    # ST_GeneratePoints splits the count over the parts of a multipolygon by area and can round a point
    # away: ask for a few more, keep the first n in a seeded shuffle (md5 order) so no part is favoured.
    units = sorted(need)
    rows = await conn.fetch(
        """
        SELECT g.code, g.n, round(ST_X(ST_Transform((d).geom, g.epsg))::numeric, 1)::text AS x,
               round(ST_Y(ST_Transform((d).geom, g.epsg))::numeric, 1)::text AS y
        FROM unnest($1::text[], $2::int[], $3::int[]) AS g(code, n, epsg)
        JOIN ref.communes c ON c.code = g.code
        CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(c.geom, g.n + 3 + g.n / 5, c.id)) AS d
        ORDER BY g.code, md5(g.code || (d).path[1])""",
        [c.code[u] for u in units],
        [need[u] for u in units],
        [EPSG_OF_DEP.get(c.dep[u], 2154) for u in units],
    )
    out: dict[int, list[tuple[str, str]]] = {u: [] for u in units}
    for r in rows:
        kept = out[c.index[r["code"]]]
        if len(kept) < r["n"]:
            kept.append((r["x"], r["y"]))
    short = [c.code[u] for u in units if len(out[u]) < need[u]]
    if short:
        raise RuntimeError(f"PostGIS generated too few points in {short}")
    return out


async def _centroids(conn: asyncpg.Connection, c: Communes, cities: list[int]) -> dict[int, tuple[str, str]]:
    rows = await conn.fetch(
        """
        SELECT g.code, round(ST_X(ST_Transform(c.label_point, g.epsg))::numeric, 1)::text AS x,
               round(ST_Y(ST_Transform(c.label_point, g.epsg))::numeric, 1)::text AS y
        FROM unnest($1::text[], $2::int[]) AS g(code, epsg) JOIN ref.communes c ON c.code = g.code
        ORDER BY g.code""",
        [c.code[i] for i in cities],
        [EPSG_OF_DEP.get(c.dep[i], 2154) for i in cities],
    )
    return {c.index[r["code"]]: (r["x"], r["y"]) for r in rows}


def _postcode(c: Communes, unit: int) -> str:
    """Postcode of the address: real for PLM arrondissements (the importer reads it), else the INSEE code
    (Corsica as 20xxx), a stand-in documented in docs/data.md."""
    code = str(c.code[unit])
    if c.kind[unit] == "ARM":
        return {"75": "750" + code[3:], "69": "6900" + code[4], "13": "130" + code[3:]}[code[:2]]
    return "20" + code[2:] if code[:2] in ("2A", "2B") else code


def _date(rng: np.random.Generator, start: str, end: str) -> str:
    lo, hi = np.datetime64(start), np.datetime64(end)
    return str(lo + np.timedelta64(int(rng.integers(int((hi - lo).astype(int)) + 1)), "D"))


async def write(
    conn: asyncpg.Connection, c: Communes, perimeters: list[Cpts], out_dir: Path
) -> dict[str, str]:
    """Write the FINESS extraction (Latin-1) and the e-CDS typology; returns {source key: file name}."""
    ets = place(c, perimeters)
    labels = {
        r["categetab"]: r["libelle"]
        for r in await conn.fetch("SELECT categetab, libelle FROM ref.finess_categories ORDER BY categetab")
    }
    labels.update({k: v[0] for k, v in OTHER_LABELS.items()})
    aggregates = {**AGGREGATES, **{k: v[1] for k, v in OTHER_LABELS.items()}}
    rng = stream("finess-file")
    mode = rng.random(len(ets))
    need: dict[int, int] = {}
    for et, m in zip(ets, mode.tolist(), strict=True):
        if m >= SHARE_NO_POINT + SHARE_CENTROID:
            need[et.unit] = need.get(et.unit, 0) + 1
    points = await _points(conn, c, need)
    centroid_cities = sorted(
        {
            c.city(et.unit)
            for et, m in zip(ets, mode.tolist(), strict=True)
            if SHARE_NO_POINT <= m < SHARE_NO_POINT + SHARE_CENTROID
        }
    )
    centroids = await _centroids(conn, c, centroid_cities)

    sequence: dict[str, int] = {}
    ej_numbers: dict[str, str] = {}
    structures: list[tuple[str, str]] = []
    geolocations: list[tuple[str, str]] = []
    ecds: list[tuple[str, str]] = []
    taken = {u: 0 for u in points}
    for et, m in zip(ets, mode.tolist(), strict=True):
        city = c.city(et.unit)
        dep = c.dep[city]
        sequence[dep] = sequence.get(dep, 0) + 1
        nofinesset = _number(dep, sequence[dep])
        if et.ej and et.ej in ej_numbers:
            nofinessej = ej_numbers[et.ej]
        else:
            sequence["ej" + dep] = sequence.get("ej" + dep, 50_000) + 1
            nofinessej = ej_numbers.setdefault(et.ej or nofinesset, _number(dep, sequence["ej" + dep]))
        public = et.categetab in ("355", "101", "106", "114", "115")
        clinic = et.categetab in ("365", "128", "129", "122", "109")
        opened = _date(
            rng,
            "2020-06-01"
            if et.categetab == "604"
            else "2009-01-01"
            if et.categetab == "603"
            else "1965-01-01",
            "2023-12-31",
        )
        updated = _date(rng, "2018-01-01", "2024-11-01")
        phone = f"0{1 + int(rng.integers(5))}{int(rng.integers(10**8)):08d}"
        fields = [
            "structureet",
            nofinesset,
            nofinessej,
            et.name,
            et.name if rng.random() < 0.5 else "",
            "",
            "",
            str(1 + int(rng.integers(150))),
            STREET_TYPES[int(rng.integers(len(STREET_TYPES)))],
            STREETS[int(rng.integers(len(STREETS)))],
            "",
            "",
            c.code[city][2:],
            FINESS_DEP.get(dep, dep),
            upper_ascii(c.dep_names[dep]),
            f"{_postcode(c, et.unit)} {upper_ascii(c.nom[city])}",
            phone,
            "",
            et.categetab,
            labels[et.categetab],
            aggregates[et.categetab],
            "",
            f"{int(rng.integers(10**13, 10**14))}",
            "8610Z" if public or clinic else "8710A",
            "03" if public else "07" if clinic else "",
            "ARS établissements Publics de santé dotation globale"
            if public
            else "ARS / Tarifs libres"
            if clinic
            else "",
            "1" if public else "0" if clinic else "",
            "Etablissement public de santé" if public else "Non concerné" if clinic else "",
            opened,
            opened,
            updated,
            "",
        ]
        structures.append((nofinesset, ";".join(fields)))
        epsg = EPSG_OF_DEP.get(dep, 2154)
        if m < SHARE_NO_POINT:
            geo = ";;"
        elif m < SHARE_NO_POINT + SHARE_CENTROID:
            x, y = centroids[city]
            geo = f"{x};{y};4,ATLASANTE,.,ADMIN-EXPRESS-2023,{CRS_LABEL[epsg]}"
        else:
            x, y = points[et.unit][taken[et.unit]]
            taken[et.unit] += 1
            score = int(np.clip(100 - rng.exponential(5), 60, 100))
            if rng.random() < SHARE_OLD_FORMAT:
                geo = f"{x};{y};1,ATLASANTE,{score},IGN,BD_ADRESSE,V2.2,{OLD_TOKEN[epsg]}"
            else:
                geocoder = "BDADRESSE" if rng.random() < (0.6 if epsg != 2154 else 0.15) else "BAN"
                precision = 1 if rng.random() < 0.7 else 2 if rng.random() < 0.67 else 3
                geo = f"{x};{y};{precision},ATLASANTE,{score},{geocoder},{CRS_LABEL[epsg]}"
        geolocations.append((nofinesset, f"geolocalisation;{nofinesset};{geo};{updated}"))
        if et.categetab == "124" and rng.random() < ECDS_PRESENT:
            ecds.append((nofinesset, f"{nofinesset};{et.name};{et.cds_type};2024"))

    header = f"finess;etalab;111;{EXTRACTION_DATE}"
    lines = [header] + [line for _, line in sorted(structures)] + [line for _, line in sorted(geolocations)]
    write_lines(out_dir / FILE_NAME, lines, encoding="latin-1")
    ecds_name = "ecds-typologie-2024.csv"
    write_lines(
        out_dir / ecds_name,
        ["nofinesset;raison_sociale;typologie;campagne"] + [line for _, line in sorted(ecds)],
    )
    return {"finess": FILE_NAME, "ecds": ecds_name}
