"""Benchmark of the report service end to end: latency percentiles and where the time goes.

Starts a real aggregate service and a real report service on free ports against DATABASE_URL (or uses the
URLs given), warms them up, then requests reports one at a time (the service compiles at most
`max_parallel_renders` at once; concurrency 1 measures latency, not throughput) for a 2-commune, a
multi-département and a 100-commune selection. Prints percentiles, the ratio to the target, and the
per-step timings the service reports in its Server-Timing header:

    diagnosis  POST /v1/diagnosis to the aggregate service (runs concurrently with the next two)
    geometry   PostGIS queries of the map (selected contours, context, FINESS points)
    svg        projection, clustering and SVG drawing (worker thread)
    view       Diagnosis -> report view JSON
    typst      Typst compile to PDF (worker thread)

Usage:
    DATABASE_URL=postgresql://… .venv/bin/python bench/report/bench_report.py [-n 40]
    .venv/bin/python bench/report/bench_report.py --report-url http://127.0.0.1:8083 [-n 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["13041", "13060"]
MULTI = ["04028", "04084", "04121", "04181", "06122", "78062"]
TARGETS_MS = {"2 communes": 150.0, "6 communes, 3 départements": None, "100 communes": 500.0}
STEPS = ("diagnosis", "geometry", "svg", "view", "typst")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(module: str, prefix: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env={**os.environ, **env, f"{prefix}HOST": "127.0.0.1", f"{prefix}PORT": str(port),
                                 f"{prefix}LOG_LEVEL": "WARNING"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{module} did not become ready")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def _timing(header: str) -> dict[str, float]:
    out = {}
    for part in header.split(","):
        name, _, dur = part.strip().partition(";dur=")
        if dur:
            out[name] = float(dur)
    return out


async def _run(url: str, label: str, communes: list[str], n: int, warmup: int) -> None:
    body = {"communes": communes, "name": "Banc d'essai", "date": "2025-01-31"}
    totals: list[float] = []
    steps: dict[str, list[float]] = {s: [] for s in STEPS}
    sizes: list[int] = []
    async with aiohttp.ClientSession() as http:
        for i in range(warmup + n):
            started = time.perf_counter()
            async with http.post(f"{url}/v1/report.pdf", json=body) as resp:
                pdf = await resp.read()
                if resp.status != 200:
                    raise SystemExit(f"{label}: HTTP {resp.status} {pdf[:300]!r}")
                timing = _timing(resp.headers.get("Server-Timing", ""))
            elapsed = (time.perf_counter() - started) * 1000
            if i < warmup:
                continue
            totals.append(elapsed)
            sizes.append(len(pdf))
            for s in STEPS:
                steps[s].append(timing.get(s, 0.0))
    target = TARGETS_MS[label]
    p50, p95, p99 = (_pct(totals, q) for q in (50, 95, 99))
    print(f"\n{label}: n={n}, PDF {statistics.median(sizes) / 1024:.0f} KiB")
    print(f"  end to end   p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   p99 {p99:7.1f} ms   max {max(totals):7.1f} ms"
          + (f"   p95/target {p95 / target:.2f} (target {target:.0f} ms)" if target else ""))
    med = {s: statistics.median(v) for s, v in steps.items()}
    critical = max(med["diagnosis"], med["geometry"] + med["svg"]) + med["view"] + med["typst"]
    for s in STEPS:
        print(f"  {s:<10} p50 {med[s]:7.1f} ms   p95 {_pct(steps[s], 95):7.1f} ms   "
              f"share of critical path {med[s] / critical:5.0%}" if s not in ("geometry", "svg") else
              f"  {s:<10} p50 {med[s]:7.1f} ms   p95 {_pct(steps[s], 95):7.1f} ms   (concurrent with diagnosis)")
    print(f"  critical path (median steps) {critical:.1f} ms; HTTP and framing {p50 - critical:.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=40, help="measured requests per selection")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--report-url", help="use a running report service instead of starting one")
    args = parser.parse_args()
    procs: list[subprocess.Popen] = []
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        raise SystemExit("DATABASE_URL is required (the 100-commune selection is read from it)")
    try:
        url = args.report_url
        if url is None:
            agg, agg_url = _start("services.aggregate", "REZONE_AGGREGATE_", {})
            procs.append(agg)
            rep, url = _start("services.report", "REZONE_REPORT_", {"REZONE_REPORT_AGGREGATE_URL": agg_url})
            procs.append(rep)
        conn = await asyncpg.connect(dsn)
        try:
            hundred = [r["code"] for r in await conn.fetch(
                "SELECT code FROM ref.communes WHERE selectable AND departement_code = '13' ORDER BY code LIMIT 100")]
        finally:
            await conn.close()
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        for label, communes in (("2 communes", SMALL), ("6 communes, 3 départements", MULTI),
                                ("100 communes", hundred)):
            await _run(url, label, communes, args.n, args.warmup)
        print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
