"""The report map drawn as SVG by our own code: selected communes in context, département outlines, FINESS
symbols. Labels, the scale bar text and the legend are laid out by Typst (real text in the PDF); the SVG only
carries shapes, in integer user units.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import shapely

from .mapplan import BESIDE_WIDTH_MM, METRO_EPSG, PROJECTION_NAMES, Frame, Plan, epsg_for, project, to_crs
from .model import LegendEntry, MapLabel, MapPanel, MapView, Overview
from .queries import ContextShape, FinessPoint, OverviewShape, SelectedShape

UNITS = 10_000  # SVG width of a panel in user units: integer coordinates at 0.02 mm
# Average advance of Liberation Sans is about 0.52 em; 1 pt = 0.3528 mm.
_EM_MM = 0.3528
_ADVANCE_EM = 0.52
_NUMBER_PT = 5.0  # size of a commune's number on the map (lib.typ map-panel)


def label_pt(n_communes: int) -> float:
    """Label size: larger when few communes share the panel."""
    return 8.0 if n_communes <= 10 else 7.0 if n_communes <= 30 else 6.0


# A shape per sector, so that a grey-scale print still tells sanitaire (circle), médico-social (square) and
# coordinated care (diamond) apart; the colour is the group's own (ref.finess_groups, every map's palette).
SHAPES = {"sanitaire": "circle", "medico-social": "square", "coordination": "diamond"}


def _path(geoms: list[Any], frame: Frame) -> str:
    """One SVG path of every ring of `geoms` (projected), in integer panel units, duplicates dropped.

    Vectorised over all geometries (one shapely call per step, not per ring): a 100-commune panel with its
    neighbours is ~60 000 coordinates.
    """
    arr = np.asarray([g for g in geoms if g is not None], dtype=object)
    if arr.size == 0:
        return ""
    # Twice: a clipped outline may be a collection holding multi-geometries.
    parts = shapely.get_parts(shapely.get_parts(arr))
    parts = parts[~shapely.is_empty(parts)]
    kinds = shapely.get_type_id(parts)
    polygon_rings = shapely.get_rings(parts[kinds == 3])
    lines = parts[(kinds == 1) | (kinds == 2)]
    rings = np.concatenate([polygon_rings, lines])
    closed = np.concatenate([np.ones(len(polygon_rings), bool), np.zeros(len(lines), bool)])
    xy, idx = shapely.get_coordinates(rings, return_index=True)
    k = UNITS / frame.width_m
    pts = np.empty(xy.shape, dtype=np.int64)
    pts[:, 0] = np.rint((xy[:, 0] - frame.minx) * k)
    pts[:, 1] = np.rint((frame.maxy - xy[:, 1]) * k)
    dup = np.zeros(len(pts), dtype=bool)
    dup[1:] = (pts[1:] == pts[:-1]).all(axis=1) & (idx[1:] == idx[:-1])
    pts, idx = pts[~dup], idx[~dup]
    if len(idx) == 0:
        return ""
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    ends = np.r_[starts[1:], len(idx)]
    tokens = list(map(str, pts.ravel().tolist()))
    out = []
    for a, b, ring in zip(starts.tolist(), ends.tolist(), idx[starts].tolist(), strict=True):
        if b - a >= 2:
            out.append("M" + " ".join(tokens[2 * a : 2 * b]) + ("Z" if closed[ring] else ""))
    return "".join(out)


def _scale(width_m: float) -> tuple[float, str]:
    """A round scale-bar length near a quarter of the panel width."""
    target = width_m / 4
    for km in (0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
        if km * 1000 >= target:
            break
    length = km * 1000
    if length > width_m * 0.4:
        length = length / 2 if km not in (5, 50, 500) else length * 0.4
        km = length / 1000
    label = f"{int(km * 1000)} m" if km < 1 else f"{km:g} km".replace(".", ",")
    return length / width_m, label


def _labels(
    frame: Frame,
    codes: list[str],
    names: dict[str, str],
    points: dict[str, tuple[float, float]],
    weight: dict[str, int],
    start: int,
    size: float,
) -> tuple[list[MapLabel], list[MapLabel]]:
    """Greedy label placement: full names where they fit, a number (keyed below the map) elsewhere.

    A name's box is its estimated width plus half an em of air on each side (names set edge to edge read as
    one word: « GardanneFuveau »); a number's box is kept too, so that a later name is not written over it."""
    placed: list[tuple[float, float, float, float]] = []
    labels: list[MapLabel] = []
    key: list[MapLabel] = []
    number = start

    def free(box: tuple[float, float, float, float]) -> bool:
        return all(box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in placed)

    for code in sorted(codes, key=lambda c: (-weight.get(c, 0), names[c])):
        if code not in points:
            continue
        px, py = points[code]
        fx = float((px - frame.minx) / frame.width_m)
        fy = float((frame.maxy - py) / (frame.maxy - frame.miny))
        w = (len(names[code]) * _ADVANCE_EM + 1.0) * size * _EM_MM / frame.width_mm
        h = 1.25 * size * _EM_MM / frame.height_mm
        x0 = min(max(fx - w / 2, 0.005), 0.995 - w)
        box = (x0, fy - h / 2, x0 + w, fy + h / 2)
        if free(box):
            placed.append(box)
            labels.append(MapLabel(x=round(x0 + w / 2, 4), y=round(fy, 4), text=names[code]))
        else:
            number += 1
            # the number's white box: its digits at 5 pt (the template's size) and its inset
            nw = (len(str(number)) * 0.56 + 0.6) * _NUMBER_PT * _EM_MM / frame.width_mm
            nh = 1.5 * _NUMBER_PT * _EM_MM / frame.height_mm
            placed.append((fx - nw / 2, fy - nh / 2, fx + nw / 2, fy + nh / 2))
            labels.append(MapLabel(x=round(fx, 4), y=round(fy, 4), text=str(number), number=number))
            key.append(MapLabel(x=0, y=0, text=names[code], number=number))
    return labels, key


def _symbol(shape: str, x: int, y: int, r: int, color: str, hollow: bool) -> str:
    paint = (
        f'fill="#ffffff" stroke="{color}" stroke-width="{max(r // 3, 1)}"'
        if hollow
        else f'fill="{color}" stroke="#ffffff" stroke-width="{max(r // 5, 1)}"'
    )
    if shape == "square":
        return f'<rect x="{x - r}" y="{y - r}" width="{2 * r}" height="{2 * r}" {paint}/>'
    if shape == "diamond":
        s = int(r * 1.3)
        return f'<path d="M{x} {y - s} {x + s} {y} {x} {y + s} {x - s} {y}Z" {paint}/>'
    return f'<circle cx="{x}" cy="{y}" r="{r}" {paint}/>'


def draw(
    plan_: Plan,
    selected: list[SelectedShape],
    context: list[ContextShape],
    finess: list[FinessPoint],
    overview: list[OverviewShape] | None,
) -> MapView:
    """Render every panel of the plan as SVG, with label positions and the legend counts."""
    names = {s.code: s.nom for s in selected}
    weight = {s.code: s.population or 0 for s in selected}
    by_part: dict[int, dict[str, list[Any]]] = defaultdict(lambda: {"commune": [], "departement": []})
    for row in context:
        if row.geom is not None:
            by_part[row.part][row.kind].append(row.geom)
    label_points: dict[int, dict[str, tuple[float, float]]] = defaultdict(dict)
    for s in selected:
        if s.lon is not None and s.lat is not None:
            epsg = epsg_for(s.departement_code)
            label_points[epsg][s.code] = to_crs(epsg).transform(s.lon, s.lat)
        elif s.code in plan_.geoms:
            p = shapely.point_on_surface(plan_.geoms[s.code])
            label_points[epsg_for(s.departement_code)][s.code] = (p.x, p.y)
    located = [p for p in finess if p.lon is not None and p.lat is not None]
    panels: list[MapPanel] = []
    numbered = 0
    for i, frame in enumerate(plan_.frames):
        per_mm = UNITS / frame.width_mm
        height_units = int(round(UNITS * (frame.maxy - frame.miny) / frame.width_m))
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {UNITS} {height_units}">',
            f'<rect width="{UNITS}" height="{height_units}" fill="#f4f6f8"/>',
        ]
        ctx = by_part.get(i, {"commune": [], "departement": []})
        if ctx["commune"]:
            geoms = project(shapely.from_wkb(ctx["commune"]), frame.epsg)
            parts.append(
                f'<path d="{_path(list(geoms), frame)}" fill="#e3e5e8" fill-rule="evenodd" '
                f'stroke="#ffffff" stroke-width="{int(0.25 * per_mm)}" stroke-linejoin="round"/>'
            )
        own = [plan_.geoms[c] for c in frame.codes]
        tol = frame.width_m / frame.width_mm * 0.08
        own = list(shapely.simplify(np.asarray(own, dtype=object), tol, preserve_topology=True))
        parts.append(
            f'<path d="{_path(own, frame)}" fill="#f6c77a" fill-rule="evenodd" stroke="#a0522d" '
            f'stroke-width="{int(0.3 * per_mm)}" stroke-linejoin="round"/>'
        )
        if ctx["departement"]:
            geoms = project(shapely.from_wkb(ctx["departement"]), frame.epsg)
            parts.append(
                f'<path d="{_path(list(geoms), frame)}" fill="none" stroke="#4a4f57" '
                f'stroke-width="{int(0.45 * per_mm)}" stroke-dasharray="{int(2.2 * per_mm)} '
                f'{int(0.8 * per_mm)}" stroke-linejoin="round"/>'
            )
        # Symbols of the communes of this panel only, so that no point is drawn twice.
        members = set(frame.codes)
        pts = [p for p in located if p.code in members]
        if pts:
            tr = to_crs(frame.epsg)
            xs, ys = tr.transform([p.lon for p in pts], [p.lat for p in pts])
            k = UNITS / frame.width_m
            r = int(0.9 * per_mm)
            for p, x, y in zip(pts, np.atleast_1d(xs), np.atleast_1d(ys), strict=True):
                color, shape = p.colour, SHAPES.get(p.sector, "circle")
                sx, sy = int(round((x - frame.minx) * k)), int(round((frame.maxy - y) * k))
                parts.append(_symbol(shape, sx, sy, r, color, p.approximate))
        parts.append("</svg>")
        size = label_pt(len(frame.codes))
        labels, key = _labels(frame, frame.codes, names, label_points[frame.epsg], weight, numbered, size)
        numbered += len(key)
        frac, text = _scale(frame.width_m)
        panels.append(
            MapPanel(
                number=i + 1,
                departements=frame.departements,
                row=frame.row,
                svg="".join(parts),
                width_mm=round(frame.width_mm, 2),
                height_mm=round(frame.height_mm, 2),
                labels=labels,
                label_pt=size,
                key=key,
                scale_frac=round(frac, 4),
                scale_label=text,
            )
        )
    legend_counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    symbol: dict[str, tuple[str, str]] = {}
    for p in located:
        legend_counts[p.group_key][0] += 1
        legend_counts[p.group_key][1] += int(p.approximate)
        symbol[p.group_key] = (p.colour, SHAPES.get(p.sector, "circle"))
    legend = [
        LegendEntry(key=k, color=symbol[k][0], shape=symbol[k][1], n=v[0], n_approximate=v[1])
        for k, v in legend_counts.items()
    ]
    return MapView(
        panels=panels,
        overview=_overview(plan_, overview) if overview else None,
        legend=legend,
        finess_without_point=len(finess) - len(located),
        finess_approximate=sum(1 for p in located if p.approximate),
        missing_contour=plan_.missing_contour,
        projections=sorted({PROJECTION_NAMES[f.epsg] for f in plan_.frames}),
        legend_beside=len(plan_.frames) == 1 and plan_.frames[0].width_mm <= BESIDE_WIDTH_MM,
    )


def _overview(plan_: Plan, shapes: list[OverviewShape]) -> Overview | None:
    """Metropolitan France with the frame of each metropolitan panel, numbered like the panels."""
    if plan_.overview is None:
        return None
    metro = [(i, f) for i, f in enumerate(plan_.frames) if f.epsg == METRO_EPSG]
    geoms = project(shapely.from_wkb([s.geom for s in shapes if s.geom is not None]), METRO_EPSG)
    x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(geoms))
    frame = Frame(
        epsg=METRO_EPSG,
        minx=x0 - 10_000,
        miny=y0 - 10_000,
        maxx=x1 + 10_000,
        maxy=y1 + 10_000,
        codes=[],
        departements=[],
        width_mm=plan_.overview.width_mm,
    )
    frame.height_mm = frame.width_mm * (frame.maxy - frame.miny) / frame.width_m
    per_mm = UNITS / frame.width_mm
    k = UNITS / frame.width_m
    height_units = int(round(UNITS * (frame.maxy - frame.miny) / frame.width_m))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {UNITS} {height_units}">',
        f'<path d="{_path(list(geoms), frame)}" fill="#e3e5e8" stroke="#ffffff" '
        f'stroke-width="{int(0.15 * per_mm)}"/>',
    ]
    marks: list[MapLabel] = []
    for i, f in metro:
        bx0, by0 = (f.minx - frame.minx) * k, (frame.maxy - f.maxy) * k
        bw, bh = max(f.width_m * k, 1.2 * per_mm), max((f.maxy - f.miny) * k, 1.2 * per_mm)
        parts.append(
            f'<rect x="{int(bx0)}" y="{int(by0)}" width="{int(bw)}" height="{int(bh)}" '
            f'fill="#f6c77a" stroke="#a0522d" stroke-width="{int(0.3 * per_mm)}"/>'
        )
        marks.append(
            MapLabel(
                x=round(float(bx0 + bw) / UNITS, 4), y=round(float(by0) / height_units, 4), text=str(i + 1)
            )
        )
    parts.append("</svg>")
    return Overview(
        svg="".join(parts),
        width_mm=frame.width_mm,
        height_mm=round(frame.height_mm, 2),
        marks=marks,
        row=plan_.overview.row,
    )
