"""CPU of the Typst compile alone, over views dumped by profile_report.py (`--dump-views DIR`).

Compiles every view of DIR once with the service's renderer (its fonts, PDF/UA-1 options and timestamp), in
this one process, and prints the process CPU (`time.process_time`: Typst's worker threads included, so robust
on a shared machine) and wall time per compile. The first compile is left out (fonts, first parse). Each view
is a different selection, so Typst's memo cache of a previous compile is not what is timed. `--template`
times a variant of report.typ (a copy in another folder, with its lib.typ) on the same views.

Usage:
    .venv/bin/python bench/report/bench_compile.py DIR [--template path/report.typ] [--repeat 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from pathlib import Path

from services.report.render import REPORT_TEMPLATE, Renderer


def main() -> None:
    """Compile each dumped view and print CPU and wall medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("views", type=Path)
    parser.add_argument("--template", type=Path, default=REPORT_TEMPLATE)
    parser.add_argument("--repeat", type=int, default=1, help="passes over the views (a fresh name each)")
    args = parser.parse_args()
    views = sorted(args.views.glob("*.json"))
    renderer = Renderer(max_parallel=1, max_queued=1, timeout_s=60, template=args.template.resolve())
    timestamp = int(dt.datetime(2025, 1, 31, tzinfo=dt.UTC).timestamp())
    cpu: list[float] = []
    wall: list[float] = []
    sizes: list[int] = []
    print(f"{len(views)} views × {args.repeat}, {args.template}, load average {os.getloadavg()[0]:.2f}")
    for i, path in enumerate([v for _ in range(args.repeat) for v in views]):
        # A repeated view gets another name: the same bytes twice would time Typst's memo cache.
        data = path.read_bytes().replace(b'"name":"', f'"name":"{i} '.encode(), 1)
        w, c = time.perf_counter(), time.process_time()
        pdf = renderer._compile(data, timestamp)
        if i > 0:
            cpu.append(1000 * (time.process_time() - c))
            wall.append(1000 * (time.perf_counter() - w))
            sizes.append(len(pdf))
    print(
        f"  CPU median {statistics.median(cpu):6.1f} ms  min {min(cpu):6.1f} ms   "
        f"wall median {statistics.median(wall):6.1f} ms  min {min(wall):6.1f} ms   "
        f"PDF {statistics.median(sizes) / 1024:.0f} KiB   load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
