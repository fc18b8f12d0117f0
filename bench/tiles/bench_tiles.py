"""Tiles benchmark: our service against tipg 1.6.1 on the same database, loopback only, bounded in time.

    .venv/bin/python bench/tiles/bench_tiles.py [--dsn DSN] [--tiles 400] [--concurrency 8] [--no-tipg]

What it does (figures go to docs/benchmarks.md, section Tiles):
1. builds a national tile list: the z0–z7 overview over France and the DOM, then z8–z12 tiles drawn around
   communes weighted by population (so cities and the DOM are in), fixed seed;
2. starts our service (pre-built pyramid in memory) and tipg 1.6.1 (installed in .data/bench/tipg-venv with
   uvicorn; it serves ref.communes), both on 127.0.0.1;
3. replays the list with keep-alive at a fixed concurrency, cold (fresh processes) then warm, and prints
   throughput ratios, p50/p95/p99, and tile sizes per zoom (largest raw and gzip);
4. measures cache misses alone (a second process with no pyramid and no LRU hits: every tile of z ≥ 8 is
   built by PostGIS), for communes and for FINESS;
5. measures cached tiles with wrk (if installed: `apt-get install wrk`), server pinned to CPU 0 and wrk to
   CPU 1, 64 connections, 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from deploy.local.cluster import free_port  # noqa: E402
from services.tiles.build.pyramid import candidate_tiles  # noqa: E402

TIPG_VENV = ROOT / ".data" / "bench" / "tipg-venv"
ZOOM_WEIGHTS = {8: 10, 9: 15, 10: 25, 11: 25, 12: 25}


def default_dsn() -> str:
    """DATABASE_URL, else the local stack's (`make dsn`)."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    out = subprocess.run(
        [sys.executable, "-m", "deploy.local.stack", "dsn"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def lonlat_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """XYZ tile of a WGS84 point."""
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


async def tile_list(dsn: str, count: int, seed: int = 7) -> list[tuple[int, int, int]]:
    """The overview (every z0–z7 tile over France) plus `count` tiles z8–z12 around populated places."""
    conn = await asyncpg.connect(dsn)
    try:
        extents = [
            tuple(r)
            for r in await conn.fetch(
                "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM tiles.admin "
                "WHERE level = 'departement' AND band = 10"
            )
        ]
        places = await conn.fetch(
            "SELECT ST_X(label_point) AS lon, ST_Y(label_point) AS lat, "
            "greatest(coalesce(population, 0), 50) AS w FROM ref.communes "
            "WHERE selectable AND label_point IS NOT NULL"
        )
    finally:
        await conn.close()
    overview = [(z, x, y) for z in range(8) for x, y in candidate_tiles(extents, z)]
    rng = random.Random(seed)
    zooms = rng.choices(list(ZOOM_WEIGHTS), weights=list(ZOOM_WEIGHTS.values()), k=count * 3)
    picks = rng.choices(places, weights=[p["w"] for p in places], k=count * 3)
    detail: list[tuple[int, int, int]] = []
    seen = set()
    for z, p in zip(zooms, picks, strict=True):
        t = (z, *lonlat_tile(p["lon"], p["lat"], z))
        if t not in seen:
            seen.add(t)
            detail.append(t)
        if len(detail) == count:
            break
    return overview + detail


def start(cmd: list[str], env: dict, url: str, log: Path, cpu: str | None = None) -> subprocess.Popen:
    """Start a server process and wait until `url` answers 200."""
    if cpu and shutil.which("taskset"):
        cmd = ["taskset", "-c", cpu, *cmd]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd} exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"{url} not ready:\n{log.read_text()[-3000:]}")


def ensure_tipg() -> Path:
    """tipg 1.6.1 and uvicorn in their own virtualenv (created once)."""
    python = TIPG_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
    probe = subprocess.run(
        [str(python), "-c", "import tipg, uvicorn; print(tipg.__version__)"], capture_output=True, text=True
    )
    if probe.returncode != 0 or probe.stdout.strip() != "1.6.1":
        subprocess.run([str(python), "-m", "pip", "install", "-q", "tipg==1.6.1", "uvicorn"], check=True)
    return python


async def replay(urls: list[str], concurrency: int, timeout_s: float = 60.0) -> dict:
    """Fetch every URL once with keep-alive at fixed concurrency; latencies, sizes, errors, wall time."""
    queue = list(enumerate(urls))
    lat = [0.0] * len(urls)
    sizes: list[tuple[int, int]] = [(0, 0)] * len(urls)
    errors: list[str] = []
    conn = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout, auto_decompress=False) as session:

        async def worker() -> None:
            while queue:
                i, url = queue.pop()
                t0 = time.perf_counter()
                try:
                    async with session.get(url, headers={"Accept-Encoding": "gzip"}) as resp:
                        body = await resp.read()
                        if resp.status not in (200, 204):
                            errors.append(f"{resp.status} {url}")
                        encoded = resp.headers.get("Content-Encoding") == "gzip"
                except (TimeoutError, aiohttp.ClientError) as exc:
                    errors.append(f"{type(exc).__name__} {url}")
                    body, encoded = b"", False
                lat[i] = time.perf_counter() - t0
                raw = gzip.decompress(body) if encoded and body else body
                sizes[i] = (len(raw), len(body) if encoded else len(gzip.compress(body)) if body else 0)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return {"lat": lat, "sizes": sizes, "errors": errors, "wall": wall, "rps": len(urls) / wall}


def pct(values: list[float], p: float) -> float:
    """Percentile (nearest rank), in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def describe(name: str, result: dict) -> str:
    """One line: throughput and latency percentiles."""
    lat = result["lat"]
    return (
        f"{name:<28} {result['rps']:8.1f} req/s  p50 {pct(lat, 50):7.1f} ms  p95 {pct(lat, 95):7.1f} ms  "
        f"p99 {pct(lat, 99):7.1f} ms  errors {len(result['errors'])}"
    )


def sizes_per_zoom(tiles: list[tuple[int, int, int]], result: dict) -> list[str]:
    """Per zoom: count, largest raw and gzip, p95 gzip (KB)."""
    lines = [f"{'z':>3} {'tiles':>6} {'max raw KB':>11} {'max gz KB':>10} {'p95 gz KB':>10}"]
    for z in sorted({t[0] for t in tiles}):
        s = [result["sizes"][i] for i, t in enumerate(tiles) if t[0] == z]
        gz = sorted(g for _, g in s)
        lines.append(
            f"{z:>3} {len(s):>6} {max(r for r, _ in s) / 1024:>11.1f} {gz[-1] / 1024:>10.1f} "
            f"{gz[min(len(gz) - 1, math.ceil(0.95 * len(gz)) - 1)] / 1024:>10.1f}"
        )
    all_gz = sorted(g for _, g in result["sizes"])
    lines.append(
        f"all tiles: largest raw {max(r for r, _ in result['sizes']) / 1024:.1f} KB, "
        f"p95 gzip {all_gz[math.ceil(0.95 * len(all_gz)) - 1] / 1024:.1f} KB"
    )
    return lines


def run_wrk(urls: list[str], connections: int = 64, seconds: int = 10) -> str:
    """wrk over the URL list (round robin), pinned to CPU 1; its latency summary."""
    if not shutil.which("wrk"):
        return "wrk not installed (apt-get install wrk): cached-tile throughput not measured"
    with tempfile.TemporaryDirectory() as tmp:
        paths = Path(tmp) / "paths.lua"
        lua_paths = ",\n".join(f'"/{u.split("/", 3)[3]}"' for u in urls)
        paths.write_text(f"""local paths = {{\n{lua_paths}\n}}
local i = 0
wrk.headers["Accept-Encoding"] = "gzip"
request = function()
  i = (i % #paths) + 1
  return wrk.format("GET", paths[i])
end
""")
        base = "/".join(urls[0].split("/", 3)[:3])
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(paths), base]
        if shutil.which("taskset"):
            cmd = ["taskset", "-c", "1", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
        return out.stdout + out.stderr


async def miss_latency(base: str, tiles: list[tuple[int, int, int]], tileset: str, zooms: range) -> str:
    """Sequential fetches (one at a time) from a process whose every tile is a miss; overall and per zoom."""
    chosen = [t for t in tiles if t[0] in zooms]
    result = await replay([f"{base}/tiles/{tileset}/{z}/{x}/{y}.mvt" for z, x, y in chosen], concurrency=1)
    lines = [describe(f"misses {tileset} z{zooms.start}–z{zooms.stop - 1}", result)]
    for z in zooms:
        lat = [result["lat"][i] for i, t in enumerate(chosen) if t[0] == z]
        if lat:
            lines.append(f"    z{z:<3} n={len(lat):<4} p50 {pct(lat, 50):6.1f} ms p95 {pct(lat, 95):6.1f} ms")
    return "\n".join(lines)


async def main() -> int:
    """Run the whole benchmark and print a report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", default=None)
    parser.add_argument("--tiles", type=int, default=400, help="z8–z12 tiles added to the overview")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pyramid-dir", default=str(ROOT / ".data" / "tiles"))
    parser.add_argument("--no-tipg", action="store_true")
    args = parser.parse_args()
    dsn = args.dsn or default_dsn()
    logs = ROOT / ".data" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    tiles = await tile_list(dsn, args.tiles)
    print(
        f"tile list: {len(tiles)} tiles ({sum(1 for t in tiles if t[0] < 8)} overview z0–z7), "
        f"concurrency {args.concurrency}, keep-alive, loopback"
    )
    procs: list[subprocess.Popen] = []
    try:
        port = free_port()
        ours = f"http://127.0.0.1:{port}"
        env = {
            "DATABASE_URL": dsn,
            "REZONE_TILES_PORT": str(port),
            "REZONE_TILES_PYRAMID_DIR": args.pyramid_dir,
            "REZONE_TILES_LOG_LEVEL": "WARNING",
        }
        procs.append(
            start([sys.executable, "-m", "services.tiles"], env, ours + "/readyz", logs / "ours.log", "0")
        )
        our_urls = [f"{ours}/tiles/admin/{z}/{x}/{y}.mvt" for z, x, y in tiles]
        cold = await replay(our_urls, args.concurrency)
        warm = await replay(our_urls, args.concurrency)
        print(describe("ours admin, cold", cold))
        print(describe("ours admin, warm", warm))
        print("sizes per zoom (ours, tileset admin = régions + départements + communes + CPTS + labels):")
        print("\n".join(sizes_per_zoom(tiles, cold)))
        if not args.no_tipg:
            python = ensure_tipg()
            tport = free_port()
            tipg = f"http://127.0.0.1:{tport}"
            tenv = {"DATABASE_URL": dsn, "TIPG_DB_SCHEMAS": '["ref"]', "TIPG_DB_TABLES": '["ref.communes"]'}
            procs.append(
                start(
                    [
                        str(python),
                        "-m",
                        "uvicorn",
                        "tipg.main:app",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(tport),
                        "--log-level",
                        "warning",
                    ],
                    tenv,
                    tipg + "/collections",
                    logs / "tipg.log",
                    "0",
                )
            )
            tipg_urls = [
                f"{tipg}/collections/ref.communes/tiles/WebMercatorQuad/{z}/{x}/{y}" for z, x, y in tiles
            ]
            tcold = await replay(tipg_urls, args.concurrency)
            twarm = await replay(tipg_urls, args.concurrency)
            print(describe("tipg ref.communes, cold", tcold))
            print(describe("tipg ref.communes, warm", twarm))
            print(
                f"throughput ratio ours/tipg: cold {cold['rps'] / tcold['rps']:.1f}x, "
                f"warm {warm['rps'] / twarm['rps']:.1f}x"
            )
            print("sizes per zoom (tipg, ref.communes):")
            print("\n".join(sizes_per_zoom(tiles, tcold)))
            if tcold["errors"]:
                print("tipg errors (first 5):", tcold["errors"][:5])
        # Misses only: a process with an empty pyramid directory builds every tile in PostGIS.
        mport = free_port()
        miss = f"http://127.0.0.1:{mport}"
        empty = tempfile.mkdtemp()
        procs.append(
            start(
                [sys.executable, "-m", "services.tiles"],
                {**env, "REZONE_TILES_PORT": str(mport), "REZONE_TILES_PYRAMID_DIR": empty},
                miss + "/readyz",
                logs / "miss.log",
                "0",
            )
        )
        print(await miss_latency(miss, tiles, "communes", range(8, 13)))
        print(await miss_latency(miss, tiles, "admin", range(8, 13)))
        finess_tiles = [(z + 2, x * 4 + 1, y * 4 + 2) for z, x, y in tiles if 9 <= z + 2 <= 14]
        print(await miss_latency(miss, finess_tiles, "finess", range(9, 15)))
        print("cached tiles (wrk, server on CPU 0, wrk on CPU 1, the warm list round robin):")
        print(run_wrk(our_urls))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    print(
        f"started {time.strftime('%Y-%m-%d %H:%M:%S')}, load average {os.getloadavg()[0]:.1f}, "
        f"python {sys.version.split()[0]}"
    )
    sys.exit(asyncio.run(main()))
