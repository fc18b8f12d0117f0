"""List routes benchmark, server side: what the gateway runs on a list-cache miss, over every territory.

    DATABASE_URL=… .venv/bin/python -m bench.gateway.bench_lists [--rounds 3]

Each page is asked through `gateway.queries.cpts_page` / `communes_page` (the prepared statements and Python
the gateway uses: one statement gives the page, its total and the territory's name) on one connection, after a
warm-up pass: the CPTS list walked to its end 100 at a time, the first page of each région's CPTS, the first
page (100) of each département's communes, every région's communes walked 1,000 at a time, the communes of 100
EPCI (seeded sample). Times are wall (call to decoded Structs) and the PostgreSQL backend's CPU time, as in
bench_search.py. Prints p50/p95/max per scenario and the load average. A cache hit costs no query at all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable

import asyncpg

from bench.gateway.bench_search import _figures, _on_cpu_ms
from gateway import queries

Page = Callable[[asyncpg.Connection], Awaitable[bool]]


def _cpts(region: str | None, after: int, limit: int) -> Page:
    async def ask(conn: asyncpg.Connection) -> bool:
        _, items, more = await queries.cpts_page(conn, None, region, None, after, limit)
        return more

    return ask


def _communes(level: str, code: str, after: str, limit: int) -> Page:
    async def ask(conn: asyncpg.Connection) -> bool:
        _, _, items, more = await queries.communes_page(conn, level, code, None, None, after, limit)
        return more

    return ask


async def _walk_cpts(conn: asyncpg.Connection, limit: int) -> list[Page]:
    pages, after = [], 0
    while True:
        pages.append(_cpts(None, after, limit))
        _, items, more = await queries.cpts_page(conn, None, None, None, after, limit)
        if not more:
            return pages
        after = items[-1].id


async def _walk_communes(conn: asyncpg.Connection, level: str, code: str, limit: int) -> list[Page]:
    pages, after = [], ""
    while True:
        pages.append(_communes(level, code, after, limit))
        _, _, items, more = await queries.communes_page(conn, level, code, None, None, after, limit)
        if not more:
            return pages
        after = items[-1].code


async def scenarios(conn: asyncpg.Connection) -> dict[str, list[Page]]:
    """Scenario name → the pages it asks for."""
    regions = [r["code"] for r in await conn.fetch("SELECT code FROM ref.regions ORDER BY code")]
    deps = [r["code"] for r in await conn.fetch("SELECT code FROM ref.departements ORDER BY code")]
    epci = [r["code"] for r in await conn.fetch("SELECT code FROM ref.epci ORDER BY md5(code) LIMIT 100")]
    walks = [p for r in regions for p in await _walk_communes(conn, "region", r, 1000)]
    return {
        "CPTS, every page of 100": await _walk_cpts(conn, 100),
        "CPTS of a région, page 1 (100)": [_cpts(r, 0, 100) for r in regions],
        "communes of a département, page 1 (100)": [_communes("departement", d, "", 100) for d in deps],
        "communes of a région, every page of 1,000": walks,
        "communes of an EPCI, page 1 (100)": [_communes("epci", e, "", 100) for e in epci],
    }


async def main(dsn: str, rounds: int) -> None:
    """Warm up, ask every page `rounds` times, print the percentiles per scenario."""
    conn = await asyncpg.connect(dsn)
    try:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        asked = await scenarios(conn)
        for pages in asked.values():
            for page in pages:
                await page(conn)
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        wall: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        for _ in range(rounds):
            for name, pages in asked.items():
                for page in pages:
                    cpu0, start = _on_cpu_ms(backend), time.perf_counter()
                    await page(conn)
                    wall.setdefault(name, []).append((time.perf_counter() - start) * 1000)
                    cpu.setdefault(name, []).append(_on_cpu_ms(backend) - cpu0)
    finally:
        await conn.close()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  ({os.cpu_count()} cores)")
    head = "p50 p95 max"
    print(f"{'scenario':42} {'n':>5} | wall ms {head:>17} | server CPU ms {head:>11}")
    for name in asked:
        print(f"{name:42} {len(wall[name]):5} | {_figures(wall[name], cpu[name])}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(os.environ["DATABASE_URL"], args.rounds))
