"""Benchmark of the report service end to end: latency percentiles and where the time goes.

Starts a real aggregate service and a real report service on free ports against DATABASE_URL (or uses the URL
given), warms them up, then requests reports one at a time (concurrency 1 measures latency, not throughput)
for 2-commune, 6-commune (3 départements) and 100-commune selections. Every request is a different selection
with a different name: Typst memoises layout across compiles in a process, so repeating one request would
measure its cache, not a compile. A last series swaps one commune of a 100-commune selection per request, as a
person refining a territory does (there the memoised layout of the unchanged parts is reused). Prints
percentiles, the ratio to the target, the CPU time the report process spent per report (robust on a shared
machine, where wall time moves with the load), and the per-step timings the service reports in its
Server-Timing header:

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
TARGETS_MS = {
    "2 communes": 150.0,
    "6 communes, 3 départements": None,
    "100 communes": 500.0,
    "100 communes, one changed per request": 500.0,
}
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
STEPS = ("diagnosis", "geometry", "svg", "view", "typst")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(module: str, prefix: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={
            **os.environ,
            **env,
            f"{prefix}HOST": "127.0.0.1",
            f"{prefix}PORT": str(port),
            f"{prefix}LOG_LEVEL": "WARNING",
        },
    )
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


def _cpu_ms(pid: int | None) -> float:
    """User + system CPU time of a process so far, in ms (0 when the process is not ours)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / CLOCK_TICK


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


async def _run(url: str, label: str, selections: list[list[str]], warmup: int, pid: int | None) -> None:
    n = len(selections) - warmup
    totals: list[float] = []
    steps: dict[str, list[float]] = {s: [] for s in STEPS}
    sizes: list[int] = []
    cpu = 0.0
    async with aiohttp.ClientSession() as http:
        for i, communes in enumerate(selections):
            body = {"communes": communes, "name": f"Banc d'essai n° {i}", "date": "2025-01-31"}
            if i == warmup:
                cpu = _cpu_ms(pid)
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
    cpu_per_report = (_cpu_ms(pid) - cpu) / n
    target = TARGETS_MS[label]
    p50, p95, p99 = (_pct(totals, q) for q in (50, 95, 99))
    print(
        f"\n{label}: n={n}, PDF {statistics.median(sizes) / 1024:.0f} KiB"
        + (f", report process CPU {cpu_per_report:.0f} ms per report" if pid else "")
    )
    print(
        f"  end to end   p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   p99 {p99:7.1f} ms   "
        f"max {max(totals):7.1f} ms"
        + (f"   p95/target {p95 / target:.2f} (target {target:.0f} ms)" if target else "")
    )
    med = {s: statistics.median(v) for s, v in steps.items()}
    critical = max(med["diagnosis"], med["geometry"] + med["svg"]) + med["view"] + med["typst"]
    for s in STEPS:
        where = (
            "(concurrent with diagnosis)"
            if s in ("geometry", "svg")
            else f"share of critical path {med[s] / critical:5.0%}"
        )
        print(f"  {s:<10} p50 {med[s]:7.1f} ms   p95 {_pct(steps[s], 95):7.1f} ms   {where}")
    print(f"  critical path (median steps) {critical:.1f} ms; HTTP and framing {p50 - critical:.1f} ms")


async def main() -> None:
    """Run the three selection sizes against real processes and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=30, help="measured requests per selection size")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--report-url", help="use a running report service instead of starting one")
    args = parser.parse_args()
    procs: list[subprocess.Popen] = []
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        raise SystemExit("DATABASE_URL is required (the 100-commune selection is read from it)")
    try:
        url, pid = args.report_url, None
        if url is None:
            agg, agg_url = _start("services.aggregate", "REZONE_AGGREGATE_", {})
            procs.append(agg)
            rep, url = _start(
                "services.report",
                "REZONE_REPORT_",
                {
                    "REZONE_REPORT_AGGREGATE_URL": agg_url,
                    # The bench only reads: no batch worker, and the queue (its writes: claims, expiry)
                    # pointed at a closed port, so a shared database's batches are never touched.
                    "REZONE_REPORT_BATCH_CONCURRENCY": "0",
                    "REZONE_REPORT_QUEUE_DATABASE_URL": f"postgresql://bench@127.0.0.1:{_free_port()}/none",
                },
            )
            procs.append(rep)
            pid = rep.pid
        conn = await asyncpg.connect(dsn)
        try:
            # Communes of the south-east in code order: consecutive windows are different, real territories.
            pool = [
                r["code"]
                for r in await conn.fetch(
                    "SELECT code FROM ref.communes WHERE selectable "
                    "AND departement_code IN ('04', '05', '06', '13', '83', '84') ORDER BY code"
                )
            ]
        finally:
            await conn.close()
        count = args.warmup + args.n
        pairs = [pool[2 * i : 2 * i + 2] for i in range(count)]
        multis = [MULTI[: 6 - (i % 2)] + ([pool[i]] if i % 2 else []) for i in range(count)]
        hundreds = [pool[7 * i : 7 * i + 100] for i in range(count)]
        # A person refining a territory: each request swaps one commune of the previous selection.
        sliding = [pool[400 + i : 500 + i] for i in range(count)]
        assert all(len(h) == 100 for h in hundreds), "not enough communes for the 100-commune windows"
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        for label, selections in (
            ("2 communes", pairs),
            ("6 communes, 3 départements", multis),
            ("100 communes", hundreds),
            ("100 communes, one changed per request", sliding),
        ):
            await _run(url, label, selections, args.warmup, pid)
        print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
