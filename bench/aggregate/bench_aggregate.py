"""Aggregate service benchmark: server-side latency of uncached diagnoses, and where the time goes.

    DATABASE_URL=postgresql://… .venv/bin/python -m bench.aggregate.bench_aggregate [--random 60] [--full 40]

The script needs a fully loaded database (reference + demo data + views). It does four things:

1. It draws selections: the existing CPTS perimeters of at most 100 communes, random contiguous sets of 2–100
   communes, and contiguous sets of exactly 100 communes.
2. It starts `python -m services.aggregate` as a real process and posts each selection once, sequentially, one
   request in flight. The service has no cache, so every request is uncached. It reads the server-side time
   from the `Server-Timing` header (`total` = the whole handler; `db` = SQL round trip + typed decode).
3. It times the SQL alone on the 100-commune sets: `api.diagnosis` in one call as the service's role, then
   each of the three parts the service runs in parallel (as the admin). When the database runs on this machine
   it also gives the backend's CPU time, which depends much less on how busy the machine is.
4. It times the Python part: the typed decode of the masked JSON and the encode of the response.

The output is percentiles, the ratio p95 / target (30 ms for 100 communes) and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncpg

from bench.aggregate.selections import contiguous, cpts_perimeters
from services.common.contract import DIAGNOSIS, ENCODER

ROOT = Path(__file__).resolve().parents[2]
TARGET_MS = 30.0
PARTS = {
    "part 'territory' (+ sources, alerts, ACI)": "SELECT api._part($1, '{}', 'territory')::text",
    "part 'indicators' (+ age bands)": "SELECT api._part($1, '{}', 'indicators')::text",
    "part 'offer' (demography, activity, FINESS)": "SELECT api._part($1, '{}', 'offer')::text",
}


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def line(name: str, values: list[float]) -> str:
    """One row of the results table."""
    return (
        f"  {name:<44} n={len(values):<4} p50 {pct(values, 50):7.1f}  p95 {pct(values, 95):7.1f}  "
        f"p99 {pct(values, 99):7.1f}  max {max(values):7.1f} ms"
    )


def backend_cpu_ms(pid: int) -> float | None:
    """CPU time (user + system) of a local PostgreSQL backend, or None when it is not on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def start_service(dsn: str) -> tuple[subprocess.Popen, str]:
    """The aggregate service as a real process on a free port."""
    from deploy.local.cluster import free_port

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "REZONE_AGGREGATE_PORT": str(port),
        "REZONE_AGGREGATE_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen([sys.executable, "-m", "services.aggregate"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("aggregate service did not become ready")


def post(url: str, codes: list[str]) -> tuple[float, dict[str, float], bytes]:
    """One diagnosis: client-side ms, Server-Timing entries, body."""
    body = json.dumps({"communes": codes}).encode()
    req = urllib.request.Request(
        url + "/v1/diagnosis", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as resp:
        data = resp.read()
        timing = resp.headers.get("Server-Timing", "")
    elapsed = (time.perf_counter() - started) * 1000
    parts = {}
    for item in timing.split(","):
        name, _, dur = item.strip().partition(";dur=")
        if dur:
            parts[name] = float(dur)
    return elapsed, parts, data


async def sql_breakdown(dsn: str, sets: list[list[str]]) -> None:
    """api.diagnosis as the service's role, then each internal function as the owner (100-commune sets)."""
    reader = await asyncpg.connect(dsn, server_settings={"role": "rezone_reader"})
    admin = await asyncpg.connect(dsn)
    try:
        print("\nSQL on 100-commune sets, one call after the other (prepared, plans cached after 6 warm-up")
        print("calls); the service runs the three parts at the same time on three connections:")
        runs = [
            ("api.diagnosis, one call (as rezone_reader)", reader, "SELECT api.diagnosis($1)::text"),
            *[(k, admin, q) for k, q in PARTS.items()],
        ]
        for label, conn, query in runs:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            stmt = await conn.prepare(query)
            for codes in sets[:6]:
                await stmt.fetch(codes)
            walls, cpu0 = [], backend_cpu_ms(pid)
            for codes in sets[6:]:
                started = time.perf_counter()
                await stmt.fetch(codes)
                walls.append((time.perf_counter() - started) * 1000)
            cpu1 = backend_cpu_ms(pid)
            cpu = f"  backend CPU mean {(cpu1 - cpu0) / len(walls):5.1f} ms" if cpu0 is not None else ""
            print(line(label, walls) + cpu)
    finally:
        await reader.close()
        await admin.close()


def python_costs(bodies: list[bytes]) -> None:
    """Typed decode of the masked JSON (what the service does with the SQL result) and response encode."""
    decode, encode = [], []
    for body in bodies:
        started = time.perf_counter()
        obj = DIAGNOSIS.decode(body)
        decode.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        ENCODER.encode(obj)
        encode.append((time.perf_counter() - started) * 1000)
    print(f"\nPython (per 100-commune document, {statistics.mean(len(b) for b in bodies) / 1024:.0f} KiB):")
    print(line("typed decode (msgspec)", decode))
    print(line("encode (msgspec)", encode))


async def draw(dsn: str, n_random: int, n_full: int, seed: int) -> dict[str, list[list[str]]]:
    """The three families of selections."""
    conn = await asyncpg.connect(dsn)
    try:
        return {
            "CPTS perimeters (<= 100 communes)": await cpts_perimeters(conn, limit=n_full),
            "random contiguous, 2-100 communes": await contiguous(conn, n_random, (2, 100), seed),
            "contiguous, 100 communes": await contiguous(conn, n_full, (100, 100), seed + 1),
        }
    finally:
        await conn.close()


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.aggregate.bench_aggregate")
    parser.add_argument("--random", type=int, default=60, help="random contiguous selections, 2-100 communes")
    parser.add_argument("--full", type=int, default=40, help="100-commune selections and CPTS perimeters")
    parser.add_argument("--seed", type=int, default=20241231)
    args = parser.parse_args()
    dsn = os.environ.get("DATABASE_URL") or sys.exit("DATABASE_URL is not set")

    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    groups = asyncio.run(draw(dsn, args.random, args.full, args.seed))
    proc, url = start_service(dsn)
    try:
        for codes in groups["contiguous, 100 communes"][:20]:  # warm the pool's plan caches
            post(url, codes)
        print("\nHTTP POST /v1/diagnosis, sequential, uncached (Server-Timing total = server side):")
        bodies: list[bytes] = []
        for name, sets in groups.items():
            totals, dbs, clients = [], [], []
            for codes in sets:
                client, timing, body = post(url, codes)
                clients.append(client)
                totals.append(timing["total"])
                dbs.append(timing["db"])
                if len(codes) == 100:
                    bodies.append(body)
            print(f" {name} (mean {statistics.mean(len(s) for s in sets):.0f} communes)")
            print(line("server total", totals))
            print(line("  of which SQL + decode", dbs))
            print(line("client (loopback HTTP)", clients))
            if name == "contiguous, 100 communes":
                p95 = pct(totals, 95)
                print(
                    f"  -> p95 server side for 100 communes: {p95:.1f} ms, "
                    f"ratio to the {TARGET_MS:.0f} ms target: {p95 / TARGET_MS:.2f}"
                )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    asyncio.run(sql_breakdown(dsn, groups["contiguous, 100 communes"]))
    python_costs(bodies)
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
