"""Where the CPU of one uncached report goes, step by step, in one process (no HTTP, no other load in it).

Runs the report path of the service in process against DATABASE_URL and a running aggregate service: the
diagnosis fetch, the map queries, the map SVG, the view and the Typst compile, each timed in CPU of the whole
process (`time.process_time`: Typst's worker threads included; robust on a shared machine) and in wall time.
Every compile is of a different selection with a different name, as in bench_report.py, so Typst's memoised
layout of a previous compile is not what is timed. `--cprofile` adds the hottest Python functions of the
non-Typst steps.

Usage:
    DATABASE_URL=postgresql://… .venv/bin/python bench/report/profile_report.py \
        --aggregate-url http://127.0.0.1:8082 [-n 10] [--communes 100] [--cprofile] [--dump-views DIR]

`--dump-views DIR` also writes each measured view (the JSON handed to Typst) to DIR, for
bench_compile.py to time template variants on the same data without the database.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import os
import pstats
import statistics
import time
from collections import defaultdict
from pathlib import Path

import asyncpg
import msgspec

from services.report import mapplan, mapsvg, queries, view
from services.report.render import Renderer
from services.report.upstream import AggregateClient

_ENC = msgspec.json.Encoder()


def _timed(out, step, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    w, c = time.perf_counter(), time.process_time()
    try:
        return fn(*args, **kwargs)
    finally:
        out[step].append((1000 * (time.process_time() - c), 1000 * (time.perf_counter() - w)))


async def main() -> None:
    """Profile `-n` reports of consecutive windows of south-eastern communes."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--aggregate-url", required=True)
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--communes", type=int, default=100)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--dump-views", type=Path, help="write each measured view's JSON to this folder")
    args = parser.parse_args()
    if args.dump_views:
        args.dump_views.mkdir(parents=True, exist_ok=True)
    dsn = os.environ["DATABASE_URL"]
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    client = AggregateClient(args.aggregate_url, timeout_s=30, connect_timeout_s=5, max_body=50_000_000)
    await client.start()
    renderer = Renderer(max_parallel=1, max_queued=1, timeout_s=60)
    prof = cProfile.Profile() if args.cprofile else None
    steps: dict[str, list[tuple[float, float]]] = defaultdict(list)
    date = dt.date(2025, 1, 31)
    try:
        async with pool.acquire() as conn:
            pool_codes = [
                r["code"]
                for r in await conn.fetch(
                    "SELECT code FROM ref.communes WHERE selectable "
                    "AND departement_code IN ('04', '05', '06', '13', '83', '84') ORDER BY code"
                )
            ]
        for i in range(args.warmup + args.n):
            codes = pool_codes[7 * i : 7 * i + args.communes]
            run: dict[str, list[tuple[float, float]]] = defaultdict(list)
            w = time.perf_counter()
            diagnosis = await client.diagnosis(codes, [])
            run["diagnosis (HTTP, wall)"].append((0.0, 1000 * (time.perf_counter() - w)))
            w = time.perf_counter()
            async with pool.acquire() as conn:
                selected = await queries.selected_shapes(conn, codes)
                plan = _timed(run, "plan (cluster, project)", mapplan.plan, selected)
                frames = plan.frames
                context = await queries.context_shapes(
                    conn,
                    [f.envelope_4326() for f in frames],
                    [f.tolerance_deg() for f in frames],
                    [mapplan.wants_context_communes(f) for f in frames],
                    codes,
                )
                finess = await queries.finess_points(conn, codes)
                qpv_names = await queries.qpv_names(conn, codes)
            run["geometry queries (wall)"].append((0.0, 1000 * (time.perf_counter() - w)))
            if prof and i >= args.warmup:
                prof.enable()
            drawn = _timed(run, "svg", mapsvg.draw, plan, selected, context, finess, None)
            built = _timed(
                run, "view", view.build, diagnosis, drawn, name=f"n° {i}", date=date, qpv_names=qpv_names
            )
            data = _timed(run, "encode", _ENC.encode, built)
            if args.dump_views and i >= args.warmup:
                (args.dump_views / f"view-{args.communes}-{i:03d}.json").write_bytes(data)
            if prof and i >= args.warmup:
                prof.disable()
            timestamp = int(dt.datetime(2025, 1, 31, tzinfo=dt.UTC).timestamp())
            pdf = _timed(run, "typst", renderer._compile, data, timestamp)
            run["_svg_bytes"].append((0.0, float(sum(len(p.svg) for p in drawn.panels))))
            run["_pdf_bytes"].append((0.0, float(len(pdf))))
            if i >= args.warmup:
                for k, v in run.items():
                    steps[k] += v
    finally:
        await client.close()
        await pool.close()
    print(f"{args.n} reports of {args.communes} communes, load average {os.getloadavg()[0]:.2f}")
    for k, v in steps.items():
        cpu, wall = zip(*v, strict=True)
        if k.startswith("_"):
            print(f"  {k[1:]:<26} median {statistics.median(wall) / 1024:8.0f} KiB")
            continue
        cpu_ms, wall_ms = statistics.median(cpu), statistics.median(wall)
        print(f"  {k:<26} CPU median {cpu_ms:7.1f} ms   wall median {wall_ms:7.1f} ms")
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    asyncio.run(main())
