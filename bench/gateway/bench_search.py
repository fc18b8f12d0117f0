"""Commune search benchmark, server side: what the gateway runs on a search-cache miss, over real queries.

    DATABASE_URL=… .venv/bin/python -m bench.gateway.bench_search [--rounds 3] [--seed 12]

Builds a list of what people type from the loaded reference (seeded, so every run asks the same): official
names, names without their article, lower case without accents, st/ste abbreviations, prefixes of 3 to 8
letters, one typo (a letter deleted, doubled or replaced), postal codes, INSEE codes, communes déléguées, old
codes. Each query is sent through `gateway.queries.search` (the prepared statement and Python the gateway
uses, over loopback) on one connection, after one warm-up pass over a different list. Two times per query:
wall (from call to decoded rows, what a caller waits) and the PostgreSQL backend's CPU time (from
/proc/<backend pid>/schedstat, nanoseconds on CPU), which the other loads of a shared machine do not inflate:
it is what the query costs the server, i.e. its latency on an idle core. Prints p50/p95/max per kind and
overall, and the load average. Needs the database on this machine (a local cluster) for the CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import unicodedata
from pathlib import Path

import asyncpg

from gateway import queries

ARTICLE = ("Le ", "La ", "Les ", "L'", "Aux ", "Las ", "Los ")


def _plain(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch)).replace("-", " ")


def _typo(name: str, rng: random.Random) -> str:
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    i = rng.choice(letters[1:-1] or letters)
    kind = rng.randrange(3)
    if kind == 0:
        return name[:i] + name[i + 1 :]
    if kind == 1:
        return name[:i] + name[i] + name[i:]
    return name[:i] + ("e" if name[i] != "e" else "a") + name[i + 1 :]


async def build_queries(conn: asyncpg.Connection, seed: int) -> list[tuple[str, str]]:
    """(kind, query) pairs drawn from the reference with a seeded generator."""
    rng = random.Random(seed)
    big = [
        r["nom"]
        for r in await conn.fetch(
            "SELECT nom FROM ref.communes ORDER BY population DESC NULLS LAST LIMIT 400"
        )
    ]
    anyone = [
        r["nom"]
        for r in await conn.fetch(
            "SELECT nom FROM ref.communes WHERE selectable ORDER BY md5(code) LIMIT 400"
        )
    ]
    articles = [
        r["nom"]
        for r in await conn.fetch(
            "SELECT nom FROM ref.communes WHERE type_nom >= 2 ORDER BY md5(code) LIMIT 200"
        )
    ]
    saints = [
        r["nom"]
        for r in await conn.fetch(
            "SELECT nom FROM ref.communes WHERE nom ~ '^Saint(e)?-' "
            "ORDER BY population DESC NULLS LAST LIMIT 200"
        )
    ]
    postal = [
        r["code_postal"]
        for r in await conn.fetch("SELECT DISTINCT code_postal FROM ref.postal_codes ORDER BY 1")
    ]
    codes = [
        r["code"] for r in await conn.fetch("SELECT code FROM ref.communes ORDER BY md5(code) LIMIT 100")
    ]
    former = await conn.fetch(
        "SELECT code, nom FROM ref.former_communes WHERE NOT current ORDER BY md5(code) LIMIT 100"
    )
    out: list[tuple[str, str]] = []
    out += [("nom officiel", n) for n in rng.sample(big, 80)]
    out += [("minuscules sans accents", _plain(n)) for n in rng.sample(anyone, 80)]
    out += [("avec article", n) for n in rng.sample(articles, 60)]
    out += [
        ("sans article", n.split(" ", 1)[1] if " " in n else n[2:])
        for n in rng.sample(articles, 60)
        if n.startswith(ARTICLE)
    ]
    out += [("st/ste", n.replace("Sainte-", "ste ").replace("Saint-", "st ")) for n in rng.sample(saints, 60)]
    out += [("préfixe 3-8 lettres", n[: rng.randint(3, 8)]) for n in rng.sample(anyone, 120)]
    out += [("une faute", _typo(n, rng)) for n in rng.sample(big, 80) if len(n) >= 6]
    out += [("une faute", _typo(_plain(n), rng)) for n in rng.sample(anyone, 40) if len(n) >= 6]
    out += [("code postal", p) for p in rng.sample(postal, 60)]
    out += [("code INSEE", c) for c in rng.sample(codes, 40)]
    out += [("commune déléguée ou associée", r["nom"]) for r in former[:50]]
    out += [("ancien code", r["code"]) for r in former[50:]]
    rng.shuffle(out)
    return out


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _on_cpu_ms(pid: int) -> float:
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e6


def _figures(w: list[float], c: list[float]) -> str:
    """Wall and server CPU p50, p95, max (ms), as the tables of docs/benchmarks.md print them."""
    return (
        f"{_pct(w, 50):7.2f} {_pct(w, 95):7.2f} {max(w):7.2f}"
        f" | {_pct(c, 50):7.2f} {_pct(c, 95):7.2f} {max(c):7.2f}"
    )


async def main(dsn: str, rounds: int, seed: int) -> None:
    """Warm up, run the list `rounds` times, print the percentiles per kind of query."""
    conn = await asyncpg.connect(dsn)
    try:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        warm = await build_queries(conn, seed + 1000)
        for _, q in warm:
            await queries.search(conn, q, 10, {})
        wall: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        found: dict[str, int] = {}
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for _ in range(rounds):
            for kind, q in await build_queries(conn, seed):
                cpu0, start = _on_cpu_ms(backend), time.perf_counter()
                hits = await queries.search(conn, q, 10, {})
                wall.setdefault(kind, []).append((time.perf_counter() - start) * 1000)
                cpu.setdefault(kind, []).append(_on_cpu_ms(backend) - cpu0)
                found[kind] = found.get(kind, 0) + bool(hits)
    finally:
        await conn.close()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  ({os.cpu_count()} cores)")
    head = "p50 p95 max"
    print(f"{'kind':30} {'n':>5} {'found':>6} | wall ms {head:>17} | server CPU ms {head:>11}")
    kinds = sorted(wall)
    for kind in [*kinds, "all"]:
        w = [t for k in kinds for t in wall[k]] if kind == "all" else wall[kind]
        c = [t for k in kinds for t in cpu[k]] if kind == "all" else cpu[kind]
        share = f"{found[kind] / len(w):6.0%}" if kind != "all" else ""
        print(f"{kind:30} {len(w):5} {share:>6} | {_figures(w, c)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    asyncio.run(main(os.environ["DATABASE_URL"], args.rounds, args.seed))
