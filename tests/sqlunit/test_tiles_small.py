"""The FINESS cluster layer on the small fixture: counts per group as the groups of ref.finess_groups."""

from __future__ import annotations

import mapbox_vector_tile
import pytest

from services.tiles.catalog import FINESS_CLUSTERS, layer_rows

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Three structures in one cluster cell of tile 8/133/92 (Alpes-de-Haute-Provence), one in another cell.
_POINTS = [
    ("040000001", "chr", 6.2300, 44.0900),
    ("040000002", "chr", 6.2301, 44.0901),
    ("040000003", "msp", 6.2302, 44.0902),
    ("050000001", "ehpad", 6.0800, 44.5600),
    ("040000009", "pasa", 6.0801, 44.5601),  # a group added to ref.finess_groups by the test
]


async def test_cluster_counts_carry_one_field_per_group_present(small_db) -> None:
    """Also for a group the table gained after V0330: no second list of groups to edit (rolled back)."""
    await small_db.execute(
        "INSERT INTO ref.finess_groups (key, label, sector, coordinated, ordinal, colour) "
        "VALUES ('pasa', 'Pôles d''activités et de soins adaptés', 'medico-social', false, 99, '#123456')"
    )
    await small_db.executemany(
        "INSERT INTO tiles.layers (id, minzoom, maxzoom, extent, buffer, margin, detail_minzoom) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        layer_rows(),
    )
    await small_db.executemany(
        "INSERT INTO tiles.finess (id, finess, groupe, nom, approximate, geom) "
        "VALUES (tiles.finess_id($1), $1, $2, $1, false, "
        "ST_Transform(ST_SetSRID(ST_MakePoint($3, $4), 4326), 3857))",
        _POINTS,
    )
    z, x, y = await small_db.fetchrow(
        "SELECT 8, floor((6.23 + 180) / 360 * 256)::int, "
        "floor((1 - ln(tan(radians(44.09)) + 1 / cos(radians(44.09))) / pi()) / 2 * 256)::int"
    )
    mvt = await small_db.fetchval(
        "SELECT tiles.mvt_finess_clusters(l, $1, $2, $3) FROM tiles.layers l WHERE l.id = $4",
        z,
        x,
        y,
        FINESS_CLUSTERS.id,
    )
    features = mapbox_vector_tile.decode(mvt)[FINESS_CLUSTERS.id]["features"]
    got = sorted(sorted(f["properties"].items()) for f in features)
    assert got == [
        [("n_chr", 2), ("n_msp", 1), ("total", 3)],
        [("n_ehpad", 1), ("n_pasa", 1), ("total", 2)],
    ]
    assert all(type(v) is int for f in features for v in f["properties"].values())  # not 2.0
    groups = {r["key"] for r in await small_db.fetch("SELECT key FROM ref.finess_groups")}
    assert {k[2:] for f in features for k in f["properties"] if k.startswith("n_")} <= groups
