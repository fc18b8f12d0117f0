"""National load test: ramp an open-loop mix until the SLO breaks, hold the best rate, write docs/load/.

    .venv/bin/python -m bench.load --target http://127.0.0.1:18150 --dsn postgresql://… --name prod \
        [--rates 200,400,…] [--step-s 30] [--hold-s 300] [--processes 2]

Steps of `--step-s` seconds (≤ 60) at increasing offered rates; a step passes when p95 ≤ 100 ms and errors
< 0.1 % (every answer other than 200/204/304, and every request without an answer, is an error). The ramp
stops at the first failing step; the best passing rate is then held `--hold-s` seconds, as consecutive
steps of
at most 60 s. Loopback only (the target must be 127.0.0.0/8). Output: docs/load/<name>.json, <name>-ramp.png,
<name>-hold.png; docs/load/README.md is written by hand from them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from bench.gateway import loadgen

from . import mix as mixmod
from . import openloop, procstat, report

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "load"
MAX_STEP_S = 60.0


def _templates(target: str) -> dict[str, tuple[str, int, int]]:
    """The style's vector sources as (path template, minzoom, maxzoom), from the served TileJSON."""
    with urllib.request.urlopen(target + "/styles/rezone.json", timeout=10) as resp:
        style = json.load(resp)
    out = {}
    for name, source in style["sources"].items():
        if source.get("type") != "vector":
            continue
        with urllib.request.urlopen(
            source["url"].replace(_origin(source["url"]), target), timeout=10
        ) as resp:
            tj = json.load(resp)
        path = tj["tiles"][0].replace(_origin(tj["tiles"][0]), "")
        out[name] = (path, int(tj.get("minzoom", 0)), int(tj.get("maxzoom", 14)))
    return out


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def run_step(m: mixmod.Mix, host: str, port: int, rate: float, seconds: float, seed: int, args) -> np.ndarray:
    """One bounded step."""
    seconds = min(seconds, MAX_STEP_S)
    plan = m.plan(rate, seconds, seed)
    return openloop.execute(
        host, port, m.requests, plan, processes=args.processes, max_conns=args.max_conns, clients=args.clients
    )


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True)
    parser.add_argument("--dsn", required=True, help="the stack's database (read once, to build the mix)")
    parser.add_argument("--name", required=True, help="output name under docs/load/")
    parser.add_argument(
        "--rates", default="200,400,600,800,1000,1200,1400,1600,1800,2000,2200,2400,2700,3000"
    )
    parser.add_argument("--step-s", type=float, default=30.0)
    parser.add_argument("--hold-s", type=float, default=300.0)
    parser.add_argument("--hold-rate", type=float, default=0.0, help="skip the ramp and hold this rate")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--max-conns", type=int, default=800)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--warm-s", type=float, default=30.0, help="warm-up at the first rate, not reported")
    parser.add_argument("--prime-s", type=float, default=150.0, help="tile cache priming, seconds at most")
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    target = args.target.rstrip("/")
    parts = urlsplit(target)
    if not (parts.hostname or "").startswith("127."):
        raise SystemExit("loopback targets only (127.0.0.0/8)")
    host, port = parts.hostname, parts.port or 80
    m = asyncio.run(mixmod.build(f"{host}:{port}", args.dsn, _templates(target)))
    pools = {k: len(v) for k, v in m.by_kind.items()}
    print(f"[load] mix built: {len(m.requests)} distinct requests {pools}", flush=True)
    sampler = procstat.Sampler({os.getpid()}, _stack_roots())
    result: dict = {
        "name": args.name,
        "target": target,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "note": args.note,
        "shares_pct": mixmod.SHARES,
        "reports_per_s": mixmod.REPORTS_PER_S,
        "pools": pools,
        "ramp": [],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    rates = [float(r) for r in args.rates.split(",")]
    if args.prime_s:
        # The tile cache of a service that has run for days holds the popular tiles (7 days without a hit is
        # the only eviction): request the pool once, most popular first, closed loop, bounded in time. What
        # is left cold is the tail, which is what misses in production too.
        tiles = [m.requests[int(i)].data for i in m.by_kind["tile"]]
        primed = asyncio.run(
            loadgen.run(host, port, tiles, concurrency=16, total=len(tiles), max_seconds=args.prime_s)
        )
        print(f"[load] primed the tile cache: {len(primed.latencies)} of {len(tiles)} tiles", flush=True)
        result["primed_tiles"] = len(primed.latencies)
    if args.warm_s and not args.hold_rate:
        run_step(m, host, port, rates[0], args.warm_s, 0, args)
    best = args.hold_rate or 0.0
    t_cursor = 0.0
    ramp_series: dict[str, list[float]] = {"t": [], "rps": [], "p50": [], "p95": [], "p99": [], "errors": []}
    if not args.hold_rate:
        for i, rate in enumerate(rates):
            before, load = sampler.snapshot(), procstat.loadavg()
            rows = run_step(m, host, port, rate, args.step_s, i + 1, args)
            step = report.stats(rows, m.requests, rate, min(args.step_s, MAX_STEP_S))
            step |= {
                "t0": t_cursor,
                "loadavg_before": load,
                "cpu_share_pct": procstat.share(before, sampler.snapshot()),
            }
            result["ramp"].append(step)
            series = report.per_second(rows)
            for key in ramp_series:
                ramp_series[key] += [v + t_cursor for v in series[key]] if key == "t" else series[key]
            t_cursor += min(args.step_s, MAX_STEP_S)
            print(
                f"[load] {rate:6.0f}/s: ok {step['ok_rps']:7.1f}/s p95 {step['p95_ms']:7.1f} ms "
                f"p99 {step['p99_ms']:7.1f} ms errors {step['errors']} ({step['error_ratio']:.2%}) "
                f"tiles hit {step['by_kind'].get('tile', {}).get('hit_ratio')} load {load[0]:.1f} "
                f"{'PASS' if step['passed'] else 'FAIL'}",
                flush=True,
            )
            if step["passed"]:
                best = rate
            else:
                break
        report.plot(
            ramp_series,
            f"{args.name}: rampe (paliers de {args.step_s:.0f} s)",
            OUT / f"{args.name}-ramp.png",
            result["ramp"],
        )
    result["sustained_rps"] = best
    if not best and not args.hold_rate:
        # No step met the objective: hold the lowest rate anyway, so that the report shows what it does.
        best = rates[0]
        result["hold_note"] = "no ramp step met the objective; the hold runs at the lowest rate of the ramp"
    if best and args.hold_s:
        chunks, rows_all, t0 = [], [], 0.0
        before, load_start = sampler.snapshot(), procstat.loadavg()
        hold_started = time.time()
        remaining, k = args.hold_s, 0
        while remaining > 0:
            seconds = min(MAX_STEP_S, remaining)
            rows = run_step(m, host, port, best, seconds, 100 + k, args)
            rows[:, 0] += t0
            rows_all.append(rows)
            chunks.append(procstat.loadavg())
            t0 += seconds
            remaining -= seconds
            k += 1
        rows = np.concatenate(rows_all)
        hold = report.stats(rows, m.requests, best, args.hold_s)
        hold |= {
            "started": dt.datetime.fromtimestamp(hold_started, dt.UTC).isoformat(timespec="seconds"),
            "loadavg_start": load_start,
            "loadavg_per_minute": chunks,
            "cpu_share_pct": procstat.share(before, sampler.snapshot()),
        }
        result["hold"] = hold
        report.plot(
            report.per_second(rows),
            f"{args.name}: {best:.0f} req/s offertes pendant {args.hold_s:.0f} s",
            OUT / f"{args.name}-hold.png",
        )
        print(
            f"[load] hold {best:.0f}/s {args.hold_s:.0f} s: ok {hold['ok_rps']}/s p95 {hold['p95_ms']} ms "
            f"p99 {hold['p99_ms']} ms errors {hold['errors']} ({hold['error_ratio']:.3%}) "
            f"{'PASS' if hold['passed'] else 'FAIL'}",
            flush=True,
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.name}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"[load] wrote {OUT / (args.name + '.json')}", flush=True)
    return 0


def _stack_roots() -> set[int]:
    """Supervisor of `make run`'s stack and its PostgreSQL (their descendants are the simple stack)."""
    roots = set()
    for path in (ROOT / ".data" / "stack.pid", ROOT / ".data" / "pg" / "postmaster.pid"):
        try:
            roots.add(int(path.read_text().split()[0]))
        except (FileNotFoundError, ValueError, IndexError):
            pass
    return roots


if __name__ == "__main__":
    sys.exit(main())
