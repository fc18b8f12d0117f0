"""The tiles catalog is the one declaration of tilesets, layers and zoom ranges; the SQL only draws layers."""

from __future__ import annotations

import re
from pathlib import Path

from services.tiles.catalog import TILESETS

MIGRATIONS = Path(__file__).resolve().parents[2] / "sql" / "migrations"
_FUNCTION = re.compile(r"CREATE (?:OR REPLACE )?FUNCTION tiles\.(mvt_\w+)\(.*?\$\$(.*?)\$\$", re.S)
_GUARD = re.compile(r"IF z NOT BETWEEN (\d+) AND (\d+)")


def _guards() -> dict[str, tuple[int, int]]:
    """The zoom guard left in each mvt_* body, from its latest definition across the migrations."""
    found: dict[str, tuple[int, int]] = {}
    for path in sorted(MIGRATIONS.glob("V*.sql")):
        for name, body in _FUNCTION.findall(path.read_text()):
            guard = _GUARD.search(body)
            if guard:
                found[name] = (int(guard.group(1)), int(guard.group(2)))
            else:
                found.pop(name, None)
    return found


def test_sql_guards_never_narrower_than_the_catalog():
    guards = _guards()
    for tileset in TILESETS.values():
        for layer in tileset.layers:
            if layer.id.endswith("_label"):
                continue  # tiles.mvt_layer passes the caller's zoom as the label layer's range
            low, high = guards[f"mvt_{layer.id}"]
            assert low <= layer.minzoom and layer.maxzoom <= high, f"{layer.id}: SQL guard {low}-{high}"


def test_layers_at_follow_the_declared_ranges():
    admin = TILESETS["admin"]
    assert admin.layers_at(5) == ["regions", "regions_label", "departements", "departements_label"]
    assert "communes" in admin.layers_at(8) and "communes_label" not in admin.layers_at(8)
    for tileset in TILESETS.values():
        for z in range(tileset.minzoom, tileset.maxzoom + 1):
            ids = tileset.layers_at(z)
            assert ids == [lay.id for lay in tileset.layers if lay.minzoom <= z <= lay.maxzoom]
