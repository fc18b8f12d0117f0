"""Gateway benchmark: cached diagnosis (latency and req/s on one core), tile proxy overhead, commune search.

    DATABASE_URL=… REZONE_DATA_DIR=… .venv/bin/python -m bench.gateway.bench [--quick]

Starts the real tiles and aggregate services and a gateway. For the throughput scenario the gateway is
pinned to CPU 0 and this process (the load generator) to CPU 1; the latency scenarios run unpinned, like the
tiles service they are compared with, so that neither side waits for one given core of a shared machine.
Loopback only; every scenario is bounded in requests and seconds. The database must hold the full load
(reference, demo data, views, tile tables): `make dsn` gives the stack's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncpg

from deploy.local.cluster import free_port

from .loadgen import Result, request_bytes, run

ROOT = Path(__file__).resolve().parents[2]


def _start(module: str, prefix: str, env: dict[str, str], cpu: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    full = {
        **os.environ,
        **env,
        f"{prefix}HOST": "127.0.0.1",
        f"{prefix}PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", module]
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", cpu, *cmd]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{module} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{module} not ready")


async def _selection(dsn: str) -> tuple[list[str], list[str], list[str]]:
    conn = await asyncpg.connect(dsn)
    try:
        ten = [
            r["code"]
            for r in await conn.fetch(
                "SELECT code FROM ref.communes WHERE selectable AND departement_code = '13' "
                "ORDER BY code LIMIT 10"
            )
        ]
        hundred = [
            r["code"]
            for r in await conn.fetch(
                "SELECT code FROM ref.communes WHERE selectable AND departement_code = '35' "
                "ORDER BY code LIMIT 100"
            )
        ]
        names = [
            r["nom"]
            for r in await conn.fetch(
                "SELECT nom FROM ref.communes WHERE selectable ORDER BY md5(code) LIMIT 400"
            )
        ]
    finally:
        await conn.close()
    # What a person types: the first 3 to 8 letters of a name.
    prefixes = [n[: 3 + (i % 6)] for i, n in enumerate(names)]
    return ten, hundred, prefixes


def cpu_seconds(pid: int) -> float:
    """User + system CPU time consumed so far by a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pin(gw_pid: int, gateway: set[int] | None, generator: set[int] | None) -> None:
    """Pin (or, with None, unpin) the gateway and this process; a no-op on one-core machines."""
    cpus = set(range(os.cpu_count() or 1))
    if len(cpus) < 2 or not hasattr(os, "sched_setaffinity"):
        return
    os.sched_setaffinity(gw_pid, gateway or cpus)
    os.sched_setaffinity(0, generator or cpus)


def _hostport(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


async def scenarios(
    gateway: str,
    tiles: str,
    ten: list[str],
    hundred: list[str],
    prefixes: list[str],
    scale: float,
    gw_pid: int,
) -> dict[str, Result]:
    """Run every scenario; `scale` shrinks request counts for a quick run.

    Besides latency, each gateway scenario records the gateway's own CPU time per request: on a shared machine
    that figure (and its inverse, the req/s one core can serve) does not depend on what else is running.
    """
    gh, gp = _hostport(gateway)
    th, tp = _hostport(tiles)
    n = lambda base: max(50, int(base * scale))  # noqa: E731
    out: dict[str, Result] = {}
    gz = {"Accept-Encoding": "gzip"}  # what a browser sends
    get10 = request_bytes("GET", gateway, "/api/v1/territory?communes=" + ",".join(ten), headers=gz)
    get10_plain = request_bytes("GET", gateway, "/api/v1/territory?communes=" + ",".join(ten))
    post100 = request_bytes(
        "POST", gateway, "/api/v1/territory", json.dumps({"communes": hundred}).encode(), headers=gz
    )
    # Warm the cache (the first call computes the diagnosis) and the connections.
    warm = await run(gh, gp, [get10, post100], concurrency=1, total=20, max_seconds=60)
    if set(warm.statuses) != {200}:
        raise SystemExit(
            f"the diagnosis does not answer 200 ({warm.statuses}): is the database fully loaded?"
        )

    async def scenario(label: str, req: bytes | list[bytes], conns: int, total: int) -> None:
        before = cpu_seconds(gw_pid)
        reqs = req if isinstance(req, list) else [req]
        out[label] = await run(gh, gp, reqs, concurrency=conns, total=n(total), max_seconds=30)
        out[label].cpu = cpu_seconds(gw_pid) - before

    await scenario("diagnosis cached, 10 communes, gzip, 1 conn", get10, 1, 3000)
    await scenario("diagnosis cached, 10 communes, identity, 1 conn", get10_plain, 1, 3000)
    await scenario("diagnosis cached, 100 communes POST, gzip, 1 conn", post100, 1, 3000)
    _pin(gw_pid, {0}, {1})
    await scenario("diagnosis cached, 10 communes, gzip, 16 conns (pinned)", get10, 16, 30000)
    _pin(gw_pid, None, None)

    # The map asks for the versioned URLs of the TileJSON (`?v=<data version>`, immutable): the gateway keeps
    # those in memory. An unversioned URL measures the proxy hop itself (the tile cached by the service).
    with urllib.request.urlopen(f"{tiles}/tiles/admin.json", timeout=10) as resp:
        template = json.load(resp)["tiles"][0]
    version_query = template[template.index("?") :] if "?" in template else ""
    hdr = {"Accept-Encoding": "gzip"}
    for label, tile_path in (
        ("", "/tiles/admin/6/32/22.mvt"),
        (", versioned", "/tiles/admin/6/32/22.mvt" + version_query),
    ):
        direct = request_bytes("GET", tiles, tile_path, headers=hdr)
        proxied = request_bytes("GET", gateway, tile_path, headers=hdr)
        await run(th, tp, [direct], concurrency=1, total=20, max_seconds=30)
        await run(gh, gp, [proxied], concurrency=1, total=20, max_seconds=30)
        d, p = Result(), Result()
        for _ in range(5):  # interleaved blocks, so drift on the shared machine hits both alike
            for target, host, port, req in ((d, th, tp, direct), (p, gh, gp, proxied)):
                before = cpu_seconds(gw_pid)
                r = await run(host, port, [req], concurrency=1, total=n(400), max_seconds=10)
                target.cpu += cpu_seconds(gw_pid) - before
                target.latencies += r.latencies
                target.errors += r.errors
                target.wall += r.wall
        out[f"tile direct (tiles service){label}, 1 conn"] = d
        out[f"tile through the gateway{label}, 1 conn"] = p

    searches = [
        request_bytes("GET", gateway, f"/api/v1/communes?q={urllib.request.quote(q)}&limit=10")
        for q in prefixes
    ]
    # First time each prefix (the database ranks it), then the same prefixes again (the gateway's
    # data-versioned search cache answers, as for the prefixes typeahead users share).
    await scenario("search, first time each prefix, 1 conn", searches, 1, len(searches))
    await scenario("search, repeated prefixes, 1 conn", searches, 1, 2000)
    await scenario("search, repeated prefixes, 4 conns", searches, 4, 2000)
    return out


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the requests")
    args = parser.parse_args()
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        print("DATABASE_URL is required (`make dsn`)", file=sys.stderr)
        return 2
    data = os.environ.get("REZONE_DATA_DIR", str(ROOT / ".data"))
    env = {"DATABASE_URL": dsn, "REZONE_TILES_PYRAMID_DIR": str(Path(data) / "tiles")}
    procs = []
    try:
        tiles_proc, tiles = _start("services.tiles", "REZONE_TILES_", env, None)
        procs.append(tiles_proc)
        agg_proc, aggregate = _start("services.aggregate", "REZONE_AGGREGATE_", env, None)
        procs.append(agg_proc)
        gw_env = {
            **env,
            "REZONE_GATEWAY_TILES_URL": tiles,
            "REZONE_GATEWAY_AGGREGATE_URL": aggregate,
            "REZONE_GATEWAY_READY_UPSTREAMS": "tiles,aggregate",
            "REZONE_GATEWAY_RATE_PER_S": "1000000",
            "REZONE_GATEWAY_RATE_BURST": "1000000",
            "REZONE_GATEWAY_MAX_INFLIGHT": "1024",
            "REZONE_GATEWAY_PREWARM": "false",
            "REZONE_GATEWAY_LOG_LEVEL": "WARNING",
        }
        gw_proc, gateway = _start("gateway", "REZONE_GATEWAY_", gw_env, None)
        procs.append(gw_proc)
        ten, hundred, prefixes = asyncio.run(_selection(dsn))
        results = asyncio.run(
            scenarios(gateway, tiles, ten, hundred, prefixes, 0.1 if args.quick else 1.0, gw_proc.pid)
        )
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"throughput: gateway on CPU 0, generator on CPU 1; latency: unpinned; "
        f"{time.strftime('%Y-%m-%d %H:%M')}; load average {load}"
    )
    for label, r in results.items():
        cpu = f"  gateway CPU {r.cpu / len(r.latencies) * 1e6:6.0f} µs/req" if r.latencies else ""
        print(r.line(label) + cpu)
    for label in ("", ", versioned"):
        d = results[f"tile direct (tiles service){label}, 1 conn"]
        p = results[f"tile through the gateway{label}, 1 conn"]
        print(
            f"tile proxy overhead{label}: p50 {p.pct(50) - d.pct(50):+.2f} ms, "
            f"p95 {p.pct(95) - d.pct(95):+.2f} ms (ratio p95 {p.pct(95) / d.pct(95):.2f})"
        )
    d = results["tile direct (tiles service), 1 conn"]
    p = results["tile through the gateway, 1 conn"]
    c1 = results["diagnosis cached, 10 communes, gzip, 1 conn"]
    c16 = results["diagnosis cached, 10 communes, gzip, 16 conns (pinned)"]
    s = results["search, first time each prefix, 1 conn"]
    print(
        f"one-core capacity (requests per gateway CPU-second): cached diagnosis "
        f"{len(c16.latencies) / c16.cpu:.0f} req/s at 16 connections; "
        f"proxied tile: {p.cpu / len(p.latencies) * 1e6:.0f} µs of gateway CPU each"
    )
    print(
        f"targets: cached diagnosis p95 {c1.pct(95):.2f} ms (≤ 2) and {c16.rps:.0f} req/s (≥ 3000); "
        f"tile overhead p95 {p.pct(95) - d.pct(95):.2f} ms (< 1); search p95 {s.pct(95):.2f} ms first time, "
        f"{results['search, repeated prefixes, 1 conn'].pct(95):.2f} ms repeated (≤ 10)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
