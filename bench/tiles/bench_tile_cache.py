"""Cached tiles on one core: the deployed nginx tile cache against the tiles service answering from memory.

    DATABASE_URL=$(make dsn) .venv/bin/python bench/tiles/bench_tile_cache.py \
        [--seconds 10] [--connections 32]

Starts a tiles service and the shipped nginx configuration (deploy/local/tile_cache.py) on loopback, each
server pinned to CPU 0 and wrk pinned to CPU 1, warms a few tiles of the `admin` tileset (pre-built z5 and
z10, on-demand z12), then replays each URL with keep-alive for a fixed time. Prints requests per second and
latency percentiles as wrk measures them. Loopback only, bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from deploy.local import tile_cache  # noqa: E402
from deploy.local.cluster import free_port  # noqa: E402

# (label, z, x, y): France overview from the pyramid, Paris at z10 (pyramid), Lyon at z12 (built on demand).
TILES = (
    ("z5 France (pyramid)", 5, 16, 11),
    ("z10 Paris (pyramid)", 10, 518, 352),
    ("z12 Lyon (on demand, then cached)", 12, 2103, 1463),
)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(
        urllib.request.Request(url, headers={"Accept-Encoding": "gzip"}), timeout=30
    ) as r:
        return r.read()


def _pin(pid: int, cpu: int) -> None:
    """Pin a process and its children (nginx workers) to one CPU."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    for p in [str(pid), *children]:
        subprocess.run(["taskset", "-a", "-cp", str(cpu), p], capture_output=True, check=False)


def _wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "taskset",
            "-c",
            "1",
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            "Accept-Encoding: gzip",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {m.group(1): m.group(2) for m in re.finditer(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": lat.get("50"),
        "p99": lat.get("99"),
        "non2xx": int(errors.group(1)) if errors else 0,
    }


def main() -> int:
    """Run the comparison and print one line per tile and server."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pyramid-dir", default=str(ROOT / ".data" / "tiles"))
    args = parser.parse_args()
    dsn = os.environ["DATABASE_URL"]
    port = free_port()
    env = {
        **os.environ,
        "REZONE_TILES_HOST": "127.0.0.1",
        "REZONE_TILES_PORT": str(port),
        "REZONE_TILES_PYRAMID_DIR": args.pyramid_dir,
        "REZONE_TILES_LOG_LEVEL": "WARNING",
        "DATABASE_URL": dsn,
    }
    origin = subprocess.Popen(
        [sys.executable, "-m", "services.tiles"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workdir = Path(tempfile.mkdtemp(prefix="tile-cache-bench-"))
    cache_port = free_port()
    nginx = None
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(f"http://127.0.0.1:{port}/readyz")
                break
            except OSError:
                if time.monotonic() > deadline or origin.poll() is not None:
                    raise RuntimeError("tiles service did not start") from None
                time.sleep(0.2)
        nginx = tile_cache.start(workdir, cache_port, port)
        _pin(origin.pid, 0)
        _pin(nginx.pid, 0)
        template = json.loads(_get(f"http://127.0.0.1:{port}/tiles/admin.json"))["tiles"][0]
        query = template.split("?", 1)[1] if "?" in template else ""
        load = os.getloadavg()[0]
        print(
            f"load average at start: {load:.2f}; wrk -t1 -c{args.connections} -d{args.seconds}s on CPU 1, "
            "servers on CPU 0"
        )
        print(f"{'tile':36} {'server':22} {'req/s':>9} {'p50':>9} {'p99':>9} {'non-2xx':>8}")
        for label, z, x, y in TILES:
            path = f"/tiles/admin/{z}/{x}/{y}.mvt" + (f"?{query}" if query else "")
            size = len(_get(f"http://127.0.0.1:{cache_port}{path}"))  # warms the origin LRU and nginx
            _get(f"http://127.0.0.1:{cache_port}{path}")
            for server, base in (
                ("tiles service (memory)", f"http://127.0.0.1:{port}"),
                ("nginx tile cache", f"http://127.0.0.1:{cache_port}"),
            ):
                r = _wrk(base + path, args.seconds, args.connections)
                print(
                    f"{label + f' {size // 1024} KiB gz':36} {server:22} {r['rps']:9.0f} {r['p50']:>9} "
                    f"{r['p99']:>9} {r['non2xx']:8d}"
                )
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        origin.terminate()
        origin.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
