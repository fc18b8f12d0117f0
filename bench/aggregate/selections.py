"""Benchmark selections: existing CPTS perimeters and random contiguous sets grown over commune adjacency."""

from __future__ import annotations

import random

import asyncpg

# Neighbours of one commune, on the same clean contours the contiguity alert uses.
_NEIGHBOURS = """
SELECT b.code FROM ref.communes a JOIN ref.communes b
  ON b.selectable AND b.code <> a.code AND b.geom && a.geom AND ST_Intersects(a.geom, b.geom)
WHERE a.code = $1
"""


async def cpts_perimeters(conn: asyncpg.Connection, limit: int = 100) -> list[list[str]]:
    """Existing CPTS perimeters of at most 100 communes (as users would load them)."""
    rows = await conn.fetch(
        """
        SELECT array_agg(commune_code ORDER BY commune_code) AS codes FROM ref.cpts_communes
        GROUP BY cpts_id HAVING count(*) <= 100 ORDER BY cpts_id LIMIT $1""",
        limit,
    )
    return [list(r["codes"]) for r in rows]


async def contiguous(
    conn: asyncpg.Connection, count: int, sizes: tuple[int, int], seed: int
) -> list[list[str]]:
    """`count` random connected sets of communes, sizes uniform in `sizes`, grown breadth-first."""
    rng = random.Random(seed)
    starts = [
        r["code"]
        for r in await conn.fetch(
            "SELECT code FROM ref.communes WHERE selectable AND geom IS NOT NULL AND departement_code < '97' "
            "ORDER BY code"
        )
    ]
    cache: dict[str, list[str]] = {}
    out: list[list[str]] = []
    while len(out) < count:
        target = rng.randint(*sizes)
        chosen = [rng.choice(starts)]
        seen = set(chosen)
        frontier = list(chosen)
        while frontier and len(chosen) < target:
            code = frontier.pop(0)
            if code not in cache:
                cache[code] = sorted(r["code"] for r in await conn.fetch(_NEIGHBOURS, code))
            nbrs = [n for n in cache[code] if n not in seen]
            rng.shuffle(nbrs)
            for n in nbrs[: target - len(chosen)]:
                seen.add(n)
                chosen.append(n)
                frontier.append(n)
        if len(chosen) == target:
            out.append(chosen)
    return out
