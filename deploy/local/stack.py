"""Local production-like topology: embedded PostGIS, the loader, then every service as its own process.

    python -m deploy.local.stack run    foreground; Ctrl-C stops everything it started
    python -m deploy.local.stack up     same stack in the background, returns once the public port is ready
    python -m deploy.local.stack down   stops a stack started by `up`
    python -m deploy.local.stack dsn    prints the DATABASE_URL of the stack's database
    python -m deploy.local.stack load   applies migrations and loads what changed (cluster started if needed)

Settings: REZONE_PORT (public port, 8080), REZONE_PG_PORT (embedded cluster, 5433), DATABASE_URL (use an
external PostGIS instead of the embedded cluster), REDIS_URL (optional shared cache for the gateway).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import asyncpg

from .cluster import Cluster, free_port

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".data"
PID_FILE = DATA / "stack.pid"
LOG_FILE = DATA / "stack.log"

# Order matters: upstreams first, the gateway (the public port) last.
SERVICES = (
    ("services.tiles", "REZONE_TILES_"),
    ("services.aggregate", "REZONE_AGGREGATE_"),
    ("services.report", "REZONE_REPORT_"),
)


def public_port() -> int:
    """Public port of the stack."""
    return int(os.environ.get("REZONE_PORT", "8080"))


def embedded_cluster() -> Cluster:
    """The cluster the project owns under .data/pg."""
    return Cluster(DATA / "pg", int(os.environ.get("REZONE_PG_PORT", "5433")))


def database_url(start: bool) -> str:
    """DATABASE_URL if given, else the embedded cluster's (created and started when `start`)."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    cluster = embedded_cluster()
    if start:
        cluster.init()
        cluster.start()
        cluster.ensure_database("rezone")
    return cluster.dsn("rezone")


def load(dsn: str) -> None:
    """Migrations, then every source that changed since the last load."""
    from services.ingest import migrate
    from services.ingest.pipeline import run_load

    async def go() -> dict:
        conn = await asyncpg.connect(dsn)
        try:
            await migrate.migrate(conn)
            return await run_load(conn, data_dir=DATA)
        finally:
            await conn.close()

    started = time.perf_counter()
    summary = asyncio.run(go())
    print(f"[stack] data ready in {time.perf_counter() - started:.1f}s: {summary}", flush=True)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _wait(url: str, proc: subprocess.Popen, name: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode}")
        if _ready(url):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} not ready after {timeout:.0f}s")


def run() -> int:
    """Foreground stack; returns when interrupted or when a service dies."""
    started_cluster = not os.environ.get("DATABASE_URL") and not embedded_cluster().running()
    dsn = database_url(start=True)
    load(dsn)
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "REZONE_DATA_DIR": str(DATA),
        "REZONE_TILES_PYRAMID_DIR": str(DATA / "tiles"),
    }
    procs: list[tuple[str, subprocess.Popen]] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        for module, prefix in SERVICES:
            port = free_port()
            env[f"{prefix}HOST"], env[f"{prefix}PORT"] = "127.0.0.1", str(port)
            proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=env)
            procs.append((module, proc))
            _wait(f"http://127.0.0.1:{port}", proc, module)
            short = module.rsplit(".", 1)[-1].upper()
            env[f"REZONE_GATEWAY_{short}_URL"] = f"http://127.0.0.1:{port}"
            if module == "services.aggregate":  # the report service's one upstream
                env["REZONE_REPORT_AGGREGATE_URL"] = f"http://127.0.0.1:{port}"
        env["REZONE_GATEWAY_HOST"], env["REZONE_GATEWAY_PORT"] = "0.0.0.0", str(public_port())
        proc = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=env)
        procs.append(("gateway", proc))
        _wait(f"http://127.0.0.1:{public_port()}", proc, "gateway")
        print(f"[stack] Rézone CPTS ready on http://127.0.0.1:{public_port()}/ (Ctrl-C to stop)", flush=True)
        while not stopping:
            for name, p in procs:
                if p.poll() is not None:
                    print(f"[stack] {name} exited with code {p.returncode}; stopping", flush=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        # Gateway first so that no new request reaches an upstream that is going away.
        for _, p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    p.kill()
        if started_cluster:
            embedded_cluster().stop()
        print("[stack] stopped", flush=True)
    return 0


def _pid() -> int | None:
    try:
        pid = int(PID_FILE.read_text())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def up() -> int:
    """Background stack; idempotent; returns once the public port answers /readyz."""
    url = f"http://127.0.0.1:{public_port()}"
    if _pid() and _ready(url):
        print(f"[stack] already up on {url}")
        return 0
    DATA.mkdir(exist_ok=True)
    with LOG_FILE.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deploy.local.stack", "run"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    PID_FILE.write_text(str(proc.pid))
    try:
        _wait(url, proc, "stack", timeout=600)
    except RuntimeError as exc:
        print(f"[stack] {exc}; see {LOG_FILE}", file=sys.stderr)
        return 1
    print(f"[stack] up on {url} (logs: {LOG_FILE}; `make down` stops it)")
    return 0


def down() -> int:
    """Stop a stack started by `up`."""
    pid = _pid()
    if pid is None:
        print("[stack] not running")
        PID_FILE.unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    for _ in range(600):
        if _pid() is None:
            break
        time.sleep(0.1)
    PID_FILE.unlink(missing_ok=True)
    print("[stack] down")
    return 0


def main() -> int:
    """Entry point."""
    command = sys.argv[1] if len(sys.argv) > 1 else "run"
    if command == "run":
        return run()
    if command == "up":
        return up()
    if command == "down":
        return down()
    if command == "dsn":
        print(database_url(start=False))
        return 0
    if command == "load":
        started_cluster = not os.environ.get("DATABASE_URL") and not embedded_cluster().running()
        try:
            load(database_url(start=True))
        finally:
            if started_cluster:
                embedded_cluster().stop()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
