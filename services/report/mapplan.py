"""Planning of the report map: projection to the local CRS and clustering of the selection into panels.

Geometry is public reference data read from PostGIS in EPSG:4326, projected with pyproj to the local
projection (Lambert-93 in metropolitan France; RGAF09 UTM 20N for the Antilles, RGFG95 UTM 22N for Guyane,
RGR92 UTM 40S for La Réunion, RGM04 UTM 38S for Mayotte) so that distances and the scale bar are true.
A scattered territory gets one panel per disjoint part, each at its own scale; the planning tells which
envelopes the context query must cover, and `mapsvg` draws the panels.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import msgspec
import numpy as np
import shapely
from pyproj import Transformer

from . import maplayout
from .queries import SelectedShape

METRO_EPSG = 2154
DOM_EPSG = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}
PROJECTION_NAMES = {
    2154: "Lambert-93 (EPSG:2154)",
    5490: "RGAF09 / UTM 20N (EPSG:5490)",
    2972: "RGFG95 / UTM 22N (EPSG:2972)",
    2975: "RGR92 / UTM 40S (EPSG:2975)",
    4471: "RGM04 / UTM 38S (EPSG:4471)",
}
MAX_PANELS = 6  # beyond that, the closest parts are merged
# A lone panel on the A4 page (178 mm of text width) may be as tall as the page allows under its heading and
# a legend; several panels are arranged in rows by maplayout.
FULL_WIDTH_MM = maplayout.WIDTH_MM
FULL_MAX_HEIGHT_MM = 165.0  # with the legend below
BESIDE_WIDTH_MM = 119.0  # a lone panel narrower than this has the legend beside it (report.typ)
BESIDE_MAX_HEIGHT_MM = 200.0
OVERVIEW_MAX_PART_M = 400_000  # a part this wide already shows where it is in France: no locator map
CONTEXT_MAX_WIDTH_M = 150_000  # wider panels show département outlines only, not every neighbour


class Frame(msgspec.Struct, kw_only=True):
    """One map panel being planned: projection, extent in metres, its communes."""

    epsg: int
    minx: float
    miny: float
    maxx: float
    maxy: float
    codes: list[str]
    departements: list[str]
    width_mm: float = 0.0
    height_mm: float = 0.0
    row: int = 0  # of the panels' arrangement on the page (maplayout)

    @property
    def width_m(self) -> float:
        """Panel width in metres."""
        return self.maxx - self.minx

    def envelope_4326(self) -> tuple[float, float, float, float]:
        """The panel's extent in longitude/latitude (densified, so it covers the projected rectangle)."""
        return from_crs(self.epsg).transform_bounds(
            self.minx, self.miny, self.maxx, self.maxy, densify_pts=21
        )

    def tolerance_deg(self) -> float:
        """Simplification tolerance for this panel: about 0.1 mm on paper, in degrees."""
        return (self.width_m / max(self.width_mm, 1.0)) * 0.1 / 111_320


class Plan(msgspec.Struct, kw_only=True):
    """The panels of a map and the projected contours of the selected communes."""

    frames: list[Frame]
    missing_contour: list[str]  # names of selected communes without a contour
    geoms: dict[str, object] = {}  # code -> projected shapely geometry
    overview: maplayout.Cell | None = None  # the locator map's place, when the territory needs one


@lru_cache(maxsize=16)
def to_crs(epsg: int) -> Transformer:
    """Transformer from longitude/latitude to a local projection (cached: building one costs ~1 ms)."""
    return Transformer.from_crs(4326, epsg, always_xy=True)


@lru_cache(maxsize=16)
def from_crs(epsg: int) -> Transformer:
    """Transformer from a local projection back to longitude/latitude."""
    return Transformer.from_crs(epsg, 4326, always_xy=True)


def epsg_for(departement_code: str) -> int:
    """Local projection of a département."""
    return DOM_EPSG.get(departement_code, METRO_EPSG)


def project(geoms: np.ndarray, epsg: int) -> np.ndarray:
    """Geometries in longitude/latitude projected to `epsg`, vectorised over all coordinates."""
    tr = to_crs(epsg)

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack((x, y))

    out: np.ndarray = shapely.transform(geoms, fn)
    return out


def _components(geoms: np.ndarray, gap_m: float) -> list[list[int]]:
    """Groups of communes that touch (within `gap_m`), by union-find over an STRtree."""
    parent = list(range(len(geoms)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=gap_m)
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(geoms)):
        groups[find(i)].append(i)
    return list(groups.values())


def _merge_close(clusters: list[list[int]], geoms: np.ndarray) -> list[list[int]]:
    """Merge parts that are close compared with their size, then the closest until MAX_PANELS remain."""
    clusters = [list(c) for c in clusters]
    boxes = [np.asarray(shapely.total_bounds(geoms[c])) for c in clusters]
    while len(clusters) > 1:
        b = np.asarray(boxes)
        dx = np.maximum(
            0.0, np.maximum(b[:, None, 0], b[None, :, 0]) - np.minimum(b[:, None, 2], b[None, :, 2])
        )
        dy = np.maximum(
            0.0, np.maximum(b[:, None, 1], b[None, :, 1]) - np.minimum(b[:, None, 3], b[None, :, 3])
        )
        gap = np.hypot(dx, dy)
        diag = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
        close = gap <= 0.5 * np.maximum(diag[:, None], diag[None, :]) + 5_000
        np.fill_diagonal(gap, np.inf)
        np.fill_diagonal(close, False)
        if close.any():
            score = np.where(close, gap, np.inf)
        elif len(clusters) > MAX_PANELS:
            score = gap
        else:
            break
        i, j = divmod(int(np.argmin(score)), len(clusters))
        i, j = min(i, j), max(i, j)
        clusters[i] = clusters[i] + clusters.pop(j)
        bj = boxes.pop(j)
        boxes[i] = np.array(
            [
                min(boxes[i][0], bj[0]),
                min(boxes[i][1], bj[1]),
                max(boxes[i][2], bj[2]),
                max(boxes[i][3], bj[3]),
            ]
        )
    return clusters


def _pad(minx: float, miny: float, maxx: float, maxy: float) -> tuple[float, float, float, float]:
    """The extent with a margin around the territory."""
    pad = max(0.05 * max(maxx - minx, maxy - miny), 1_000.0)
    return minx - pad, miny - pad, maxx + pad, maxy + pad


def _fit(
    minx: float, miny: float, maxx: float, maxy: float, lo: float, hi: float
) -> tuple[float, float, float, float]:
    """Bring the extent's height/width ratio into [lo, hi] by widening the short side (centred)."""
    w, h = maxx - minx, maxy - miny
    if h / w > hi:
        extra = (h / hi - w) / 2
        minx, maxx = minx - extra, maxx + extra
    elif h / w < lo:
        extra = (w * lo - h) / 2
        miny, maxy = miny - extra, maxy + extra
    return minx, miny, maxx, maxy


def plan(shapes: list[SelectedShape]) -> Plan:
    """Cluster the selected communes into panels, in their local projection."""
    missing = [s.nom for s in shapes if s.geom is None]
    by_crs: dict[int, list[SelectedShape]] = defaultdict(list)
    for s in shapes:
        if s.geom is not None:
            by_crs[epsg_for(s.departement_code)].append(s)
    frames: list[Frame] = []
    projected: dict[str, object] = {}
    for epsg in sorted(by_crs, key=lambda e: (e != METRO_EPSG, e)):
        group = by_crs[epsg]
        geoms = project(shapely.from_wkb([s.geom for s in group]), epsg)
        for s, g in zip(group, geoms, strict=True):
            projected[s.code] = g
        clusters = _merge_close(_components(geoms, 500.0), geoms)
        clusters.sort(key=lambda c: -sum((group[i].population or 0) for i in c))
        for c in clusters:
            codes = [group[i].code for i in c]
            deps = sorted({group[i].departement_code for i in c})
            frames.append(Frame(epsg=epsg, minx=0, miny=0, maxx=1, maxy=1, codes=codes, departements=deps))
    boxes = [_pad(*(float(v) for v in shapely.total_bounds([projected[c] for c in f.codes]))) for f in frames]
    overview = None
    if len(frames) == 1:
        # The territory fills its panel: a tall one keeps its shape in a narrower panel (the legend then goes
        # beside it) rather than being shrunk into a wide frame of neighbours.
        f = frames[0]
        f.minx, f.miny, f.maxx, f.maxy = _fit(*boxes[0], 0.45, 2.5)
        ratio = (f.maxy - f.miny) / (f.maxx - f.minx)
        f.width_mm = min(FULL_WIDTH_MM, FULL_MAX_HEIGHT_MM / ratio)
        if f.width_mm < BESIDE_WIDTH_MM:
            f.width_mm = min(BESIDE_WIDTH_MM, BESIDE_MAX_HEIGHT_MM / ratio)
        f.height_mm = f.width_mm * ratio
    elif frames:
        natural = [_fit(*b, maplayout.MIN_RATIO, 2.5) for b in boxes]
        metro = [b for f, b in zip(frames, natural, strict=True) if f.epsg == METRO_EPSG]
        # The locator map of metropolitan France helps only when several parts are there, none of them large.
        with_overview = len(metro) > 1 and all(b[2] - b[0] <= OVERVIEW_MAX_PART_M for b in metro)
        cells, overview = maplayout.arrange([(b[3] - b[1]) / (b[2] - b[0]) for b in natural], with_overview)
        for f, b, cell in zip(frames, natural, cells, strict=True):
            ratio = cell.height_mm / cell.width_mm  # never above the natural ratio: only widened
            f.minx, f.miny, f.maxx, f.maxy = _fit(*b, ratio, ratio)
            f.width_mm, f.height_mm, f.row = cell.width_mm, cell.height_mm, cell.row
    return Plan(frames=frames, missing_contour=missing, geoms=projected, overview=overview)


def wants_context_communes(frame: Frame) -> bool:
    """Neighbouring communes are drawn only where they stay readable."""
    return bool(frame.width_m <= CONTEXT_MAX_WIDTH_M)
