"""The MapLibre style at /styles/rezone.json: our two sources and our own glyphs; no basemap, no sprite.

Labels use the glyph PBFs this service serves (services/tiles/glyphs.py), built from the fonts the
repository bundles: every MapLibre client (GL JS 4 to 6, Native) draws them and nothing leaves for a CDN.
No icon is drawn (FINESS points are circles), so there is no sprite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .queries import FinessGroup

# Fonts of web/tools/glyphs.mjs (one each: a stack would be a glyph request per stack the server can't merge).
FONT = ["DejaVu Sans Book"]
FONT_BOLD = ["DejaVu Sans Bold"]
_STATE = ["boolean", ["feature-state", "selected"], False]
_HOVER = ["boolean", ["feature-state", "hover"], False]


def _group_colour(groups: Sequence[FinessGroup]) -> list[Any]:
    expr: list[Any] = ["match", ["get", "groupe"]]
    for g in groups:
        expr += [g.key, g.colour]
    return expr + ["#777777"]


def style(
    base_url: str, version: str | None, groups: Sequence[FinessGroup], glyphs: str | None = None
) -> dict[str, Any]:
    """The style document; `base_url` is the public origin (REZONE_PUBLIC_URL), `glyphs` the glyph template.

    `groups` are the rows of ref.finess_groups: their colours paint the points, and the web legend reads the
    groups (key, label, coordinated, colour, in legend order) from the style's metadata, so that the page
    writes no list of its own.
    """
    doc: dict[str, Any] = {
        "version": 8,
        "name": "Rézone CPTS",
        "metadata": {
            "rezone:tiles_version": version,
            "rezone:note": "indicateurs de santé : données de démonstration",
            "rezone:finess_groups": [
                {"key": g.key, "label": g.label, "coordinated": g.coordinated, "colour": g.colour}
                for g in groups
            ],
        },
        "center": [2.6, 46.6],
        "zoom": 5,
        "sources": {
            "admin": {"type": "vector", "url": f"{base_url}/tiles/admin.json"},
            "finess": {"type": "vector", "url": f"{base_url}/tiles/finess.json"},
        },
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#dfe8ee"}},
            {
                "id": "departements-fill",
                "type": "fill",
                "source": "admin",
                "source-layer": "departements",
                "paint": {"fill-color": "#f6f3ec"},
            },
            {
                "id": "communes-fill",
                "type": "fill",
                "source": "admin",
                "source-layer": "communes",
                "paint": {
                    "fill-color": ["case", _STATE, "#2b6cb0", _HOVER, "#90b4de", "#f6f3ec"],
                    "fill-opacity": ["case", _STATE, 0.55, _HOVER, 0.5, 0.0],
                },
            },
            {
                "id": "cpts-fill",
                "type": "fill",
                "source": "admin",
                "source-layer": "cpts",
                "paint": {"fill-color": "#8e63b5", "fill-opacity": 0.08},
            },
            {
                "id": "communes-line",
                "type": "line",
                "source": "admin",
                "source-layer": "communes",
                "paint": {
                    "line-color": "#b7b0a4",
                    "line-width": ["interpolate", ["linear"], ["zoom"], 8, 0.2, 12, 1.0],
                },
            },
            {
                "id": "cpts-line",
                "type": "line",
                "source": "admin",
                "source-layer": "cpts",
                "paint": {
                    "line-color": "#6a3d9a",
                    "line-dasharray": [3, 2],
                    "line-width": ["interpolate", ["linear"], ["zoom"], 6, 0.8, 12, 2.0],
                },
            },
            {
                "id": "departements-line",
                "type": "line",
                "source": "admin",
                "source-layer": "departements",
                "paint": {
                    "line-color": "#857a6b",
                    "line-width": ["interpolate", ["linear"], ["zoom"], 3, 0.4, 8, 1.2, 12, 2.0],
                },
            },
            {
                "id": "regions-line",
                "type": "line",
                "source": "admin",
                "source-layer": "regions",
                "paint": {
                    "line-color": "#4e463d",
                    "line-width": ["interpolate", ["linear"], ["zoom"], 0, 0.6, 8, 2.0, 12, 3.0],
                },
            },
            {
                "id": "finess-clusters",
                "type": "circle",
                "source": "finess",
                "source-layer": "finess_clusters",
                "paint": {
                    "circle-color": "#c0392b",
                    "circle-opacity": 0.75,
                    "circle-stroke-color": "#ffffff",
                    "circle-stroke-width": 0.8,
                    "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "total"]], 1, 3, 30, 18],
                },
            },
            {
                "id": "finess-points",
                "type": "circle",
                "source": "finess",
                "source-layer": "finess",
                "paint": {
                    "circle-color": _group_colour(groups),
                    "circle-stroke-color": "#ffffff",
                    "circle-stroke-width": 1,
                    "circle-opacity": ["case", ["boolean", ["get", "approximatif"], False], 0.45, 0.95],
                    "circle-radius": ["interpolate", ["linear"], ["zoom"], 9, 2.5, 14, 6],
                },
            },
            {
                "id": "regions-label",
                "type": "symbol",
                "source": "admin",
                "source-layer": "regions_label",
                "minzoom": 4,
                "maxzoom": 6.5,
                "layout": {
                    "text-field": ["get", "nom"],
                    "text-font": FONT_BOLD,
                    "text-size": 13,
                    "text-transform": "uppercase",
                    "text-max-width": 8,
                },
                "paint": {"text-color": "#4e463d", "text-halo-color": "#ffffff", "text-halo-width": 1.5},
            },
            {
                "id": "departements-label",
                "type": "symbol",
                "source": "admin",
                "source-layer": "departements_label",
                "minzoom": 6.5,
                "maxzoom": 9.5,
                "layout": {
                    "text-field": ["get", "nom"],
                    "text-font": FONT,
                    "text-size": 12,
                    "text-max-width": 8,
                },
                "paint": {"text-color": "#5c5346", "text-halo-color": "#ffffff", "text-halo-width": 1.2},
            },
            {
                "id": "communes-label",
                "type": "symbol",
                "source": "admin",
                "source-layer": "communes_label",
                "minzoom": 9.5,
                "layout": {
                    "text-field": ["get", "nom"],
                    "text-font": FONT,
                    "text-size": 11,
                    "text-max-width": 7,
                    "symbol-sort-key": ["-", 0, ["coalesce", ["get", "population"], 0]],
                },
                "paint": {"text-color": "#3a342c", "text-halo-color": "#ffffff", "text-halo-width": 1.2},
            },
        ],
    }
    if glyphs is not None:
        doc["glyphs"] = glyphs
    return doc
