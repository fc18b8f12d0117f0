"""The request mix of national use, built from the loaded database and the served TileJSON.

Shares (of all requests; reports at a fixed low rate instead, see REPORTS_PER_S):

| kind | share | what a user does |
| --- | --- | --- |
| tile | 83 % | pans and zooms: the style's two vector sources (admin, finess) per tile of the view |
| search | 5 % | types a commune name: one request per keystroke from the 3rd letter (typeahead) |
| page | 2 % | opens the page: `/`, the style, a TileJSON, `/api/v1/meta` |
| summary | 3 % | clicks communes one by one: the header-bar figures of the growing selection |
| cpts | 3 % | opens the diagnosis of an existing CPTS (its perimeter, ≤ 100 communes) |
| diagnosis | 1 % | the diagnosis of a new contiguous selection (k nearest communes around a random one) |
| commune | 1.5 % | one commune's card |
| csv, project | 0.75 % each | downloads the communes as CSV, saves the project file |

Tiles are weighted by zoom (national and regional views most, then the cities) and by place: 70 % of views
are around the 16 largest urban areas of France and the DOM (hot areas), 30 % anywhere over France and the
DOM. The long tail of rarely seen tiles is what misses the cache, as in production.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass

import asyncpg
import numpy as np

from bench.gateway.loadgen import request_bytes

from .openloop import Plan, Request

SHARES = {
    "tile": 83.0,
    "search": 5.0,
    "page": 2.0,
    "summary": 3.0,
    "cpts": 3.0,
    "diagnosis": 1.0,
    "commune": 1.5,
    "csv": 0.75,
    "project": 0.75,
}
# A few reports a minute nationally (a CPTS writes one when its project is ready), whatever the tile rate.
REPORTS_PER_S = 0.05
ZOOM_WEIGHTS = {5: 9, 6: 12, 7: 13, 8: 14, 9: 14, 10: 13, 11: 11, 12: 8, 13: 3, 14: 3}
HOT = [  # lon, lat, weight: the largest urban areas, then the DOM capitals
    (2.35, 48.86, 30),
    (4.84, 45.76, 8),
    (5.37, 43.30, 8),
    (3.06, 50.63, 6),
    (1.44, 43.60, 6),
    (-0.58, 44.84, 6),
    (-1.55, 47.22, 5),
    (7.75, 48.58, 5),
    (-1.68, 48.11, 4),
    (3.88, 43.61, 4),
    (7.26, 43.70, 4),
    (-61.55, 16.25, 2),
    (-61.02, 14.64, 2),
    (-52.33, 4.93, 1),
    (55.53, -21.13, 3),
    (45.17, -12.83, 1),
]
AREAS = [
    ((-5.0, 41.3, 9.6, 51.1), 90),
    ((-61.9, 15.8, -61.0, 16.6), 2),
    ((-61.3, 14.3, -60.8, 14.9), 2),
    ((-54.6, 2.1, -51.6, 5.8), 2),
    ((55.2, -21.4, 55.9, -20.8), 3),
    ((45.0, -13.1, 45.3, -12.6), 1),
]
GZIP = {"Accept-Encoding": "gzip, deflate, br, zstd"}


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Web Mercator tile containing the point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(n - 1, max(0, x)), min(n - 1, max(0, y))


@dataclass
class Mix:
    """Every request the run can send, by kind, and how a plan picks among them."""

    requests: list[Request]
    by_kind: dict[str, np.ndarray]  # indices into requests
    zipf: dict[str, float]  # per kind: Zipf exponent over its pool (0: uniform)

    def plan(self, rate: float, seconds: float, seed: int) -> Plan:
        """`rate` requests a second for `seconds`, kinds by share, plus the reports at their own rate."""
        rng = np.random.default_rng(seed)
        n = int(rate * seconds)
        kinds = list(SHARES)
        weights = np.array([SHARES[k] for k in kinds])
        picked = rng.choice(len(kinds), size=n, p=weights / weights.sum())
        index = np.empty(n, dtype=np.int32)
        for k, kind in enumerate(kinds):
            rows = np.flatnonzero(picked == k)
            index[rows] = self._pick(kind, len(rows), rng)
        times = np.arange(n, dtype=np.float64) / rate
        reports = np.arange(int(seconds * REPORTS_PER_S), dtype=np.float64) / REPORTS_PER_S + 0.5
        order = np.argsort(np.concatenate([times, reports]), kind="stable")
        all_times = np.concatenate([times, reports])[order]
        all_index = np.concatenate([index, self._pick("report", len(reports), rng)])[order]
        return Plan(all_times, all_index.astype(np.int32))

    def _pick(self, kind: str, count: int, rng: np.random.Generator) -> np.ndarray:
        pool = self.by_kind[kind]
        if self.zipf.get(kind, 0) > 0:
            ranks = np.arange(1, len(pool) + 1, dtype=np.float64) ** -self.zipf[kind]
            return pool[rng.choice(len(pool), size=count, p=ranks / ranks.sum())]
        return pool[rng.integers(0, len(pool), size=count)]


def _tiles(templates: dict[str, tuple[str, int, int]], rnd: random.Random, views: int) -> list[str]:
    """Tile paths of `views` map views (a 4 × 3 grid per view and source), most frequent first."""
    zooms, zw = list(ZOOM_WEIGHTS), list(ZOOM_WEIGHTS.values())
    counts: dict[str, int] = {}
    for _ in range(views):
        z = rnd.choices(zooms, zw)[0]
        if rnd.random() < 0.7:
            lon, lat, _ = rnd.choices(HOT, [h[2] for h in HOT])[0]
            spread = 3.0 / 2 ** max(0, z - 5)  # degrees: a city at z12, a region at z6
            lon, lat = lon + rnd.gauss(0, spread), lat + rnd.gauss(0, spread * 0.7)
        else:
            (w, s, e, n), _ = rnd.choices(AREAS, [a[1] for a in AREAS])[0]
            lon, lat = rnd.uniform(w, e), rnd.uniform(s, n)
        cx, cy = tile_of(lon, lat, z)
        for template, minzoom, maxzoom in templates.values():
            if not minzoom <= z <= maxzoom:
                continue
            for dx in (-2, -1, 0, 1):
                for dy in (-1, 0, 1):
                    path = template.format(z=z, x=(cx + dx) % 2**z, y=min(2**z - 1, max(0, cy + dy)))
                    counts[path] = counts.get(path, 0) + 1
    return sorted(counts, key=counts.__getitem__, reverse=True)


async def build(host: str, dsn: str, templates: dict[str, tuple[str, int, int]], seed: int = 15) -> Mix:
    """Read communes and CPTS from the database; the tile templates come from the served TileJSON."""
    rnd = random.Random(seed)
    conn = await asyncpg.connect(dsn)
    try:
        names = [
            r["nom"]
            for r in await conn.fetch(
                "SELECT nom FROM ref.communes WHERE selectable ORDER BY population DESC NULLS LAST LIMIT 3000"
            )
        ]
        cpts = [
            r["codes"]
            for r in await conn.fetch(
                "SELECT array_agg(commune_code ORDER BY commune_code) AS codes FROM ref.cpts_communes"
                " GROUP BY cpts_id HAVING count(*) <= 100 ORDER BY cpts_id"
            )
        ]
        # k nearest selectable communes around a random one: a compact block, contiguous but for rare gaps.
        blocks = [
            r["codes"]
            for r in await conn.fetch(
                """SELECT (SELECT array_agg(b.code ORDER BY a.label_point <-> b.label_point)
                         FROM (SELECT code, label_point FROM ref.communes c
                                WHERE c.selectable ORDER BY c.label_point <-> a.label_point LIMIT k) b)
                        AS codes
                 FROM (SELECT code, label_point, 3 + (abs(hashtext(code)) % 38) AS k FROM ref.communes
                        WHERE selectable AND label_point IS NOT NULL
                        ORDER BY md5(code || $1::text) LIMIT 600) a""",
                str(seed),
            )
        ]
    finally:
        await conn.close()
    reqs: list[Request] = []
    by_kind: dict[str, list[int]] = {}

    def add(kind: str, method: str, path: str, body: object = None, timeout_s: float = 10.0) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        by_kind.setdefault(kind, []).append(len(reqs))
        reqs.append(Request(kind, request_bytes(method, host, path, data, GZIP), timeout_s))

    for path in _tiles(templates, rnd, 20_000):
        add("tile", "GET", path)
    for name in names:  # keystrokes from the 3rd letter, at most 10 of them
        for n in range(3, min(len(name), 12) + 1):
            add("search", "GET", "/api/v1/communes?q=" + _quote(name[:n]) + "&limit=10")
    for path in ("/", "/styles/rezone.json", "/tiles/admin.json", "/api/v1/meta"):
        add("page", "GET", path)
    for codes in cpts:
        add("cpts", "POST", "/api/v1/territory", {"communes": codes})
    for codes in blocks:
        add("diagnosis", "POST", "/api/v1/territory", {"communes": codes})
        for k in range(1, len(codes) + 1, 3):
            add("summary", "POST", "/api/v1/territory/summary", {"communes": codes[:k]})
        add("csv", "POST", "/api/v1/export.csv", {"communes": codes})
        add("project", "POST", "/api/v1/project", {"communes": codes, "name": "Projet de CPTS"})
        add("commune", "GET", f"/api/v1/communes/{codes[0]}")
    for codes in cpts[:40] + blocks[:40]:
        add("report", "POST", "/api/v1/report.pdf", {"communes": codes, "name": "Projet de CPTS"}, 30.0)
    # Popular things are popular: tiles, searches and CPTS by rank; new selections are new (uniform).
    zipf = {"tile": 0.9, "search": 0.6, "cpts": 0.8, "commune": 0.5}
    return Mix(reqs, {k: np.array(v, dtype=np.int32) for k, v in by_kind.items()}, zipf)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
