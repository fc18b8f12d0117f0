"""Local production-like topology: embedded PostGIS, the loader, then every service as its own process.

    python -m deploy.local.stack run    foreground; Ctrl-C stops everything it started
    python -m deploy.local.stack up     same stack in the background, returns once the public port is ready
    python -m deploy.local.stack down   stops a stack started by `up`
    python -m deploy.local.stack dsn    prints the DATABASE_URL of the stack's database
    python -m deploy.local.stack load [--force] [--accept-shrink]
                                        applies migrations and loads what changed (cluster started if needed)

Settings: REZONE_PORT (public port, 8080), REZONE_INTERNAL_PORT (gateway /metrics and detailed /readyz, public
port + 1), REZONE_BIND (public address, 127.0.0.1), REZONE_PUBLIC_URL (origin in TileJSON/page URLs),
REZONE_DATA_DIR (the stack's files, .data), REZONE_PG_PORT (embedded cluster, 5433), REZONE_PG_DIR (its data
directory, .data/pg), DATABASE_URL (an external PostGIS instead of the embedded cluster: every service then
logs in with it), REDIS_URL (optional shared cache for the gateway).

Every service runs under a supervisor (supervisor.py): restarted with backoff when it dies, given up on
after repeated fast failures (logged); tiles, search and diagnosis keep serving without the report service.
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
from collections.abc import Callable
from pathlib import Path

import asyncpg

from .cluster import Cluster, ClusterError, free_port
from .supervisor import Child, Supervisor

ROOT = Path(__file__).resolve().parents[2]
# The stack's files (cluster, passwords, caches, tile pyramids, new source files): REZONE_DATA_DIR to put them
# elsewhere (the tests load a data directory of their own through `load`).
DATA = Path(os.environ.get("REZONE_DATA_DIR") or ROOT / ".data")
PID_FILE = DATA / "stack.pid"
LOG_FILE = DATA / "stack.log"

# Order matters: upstreams first, the gateway (the public port) last.
SERVICES = (
    ("services.tiles", "REZONE_TILES_"),
    ("services.aggregate", "REZONE_AGGREGATE_"),
    ("services.report", "REZONE_REPORT_"),
)


class StackError(RuntimeError):
    """A step of the stack failed; printed without a traceback."""


def public_port() -> int:
    """Public port of the stack."""
    return int(os.environ.get("REZONE_PORT", "8080"))


def internal_port() -> int:
    """The gateway's internal port (/metrics, detailed /readyz): the public one + 1 unless set."""
    return int(os.environ.get("REZONE_INTERNAL_PORT", str(public_port() + 1)))


def public_url() -> str:
    """Origin the page and the TileJSON documents name (REZONE_PUBLIC_URL, else the local public port)."""
    return os.environ.get("REZONE_PUBLIC_URL", f"http://127.0.0.1:{public_port()}").rstrip("/")


def embedded_cluster() -> Cluster:
    """The cluster the project owns under .data/pg (REZONE_PG_DIR to put it elsewhere)."""
    return Cluster(
        Path(os.environ.get("REZONE_PG_DIR", str(DATA / "pg"))), int(os.environ.get("REZONE_PG_PORT", "5433"))
    )


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


def load(dsn: str, argv: list[str] | None = None) -> None:
    """Migrations, then every source that changed since the last load (`--force`, `--accept-shrink`)."""
    from services.ingest import migrate
    from services.ingest.pipeline import run_load

    flags = set(argv or [])
    unknown = flags - {"--force", "--accept-shrink"}
    if unknown:
        raise StackError(f"unknown load option(s): {', '.join(sorted(unknown))} (--force, --accept-shrink)")

    async def go() -> dict:
        conn = await asyncpg.connect(dsn)
        try:
            await migrate.migrate(conn)
            return await run_load(
                conn, data_dir=DATA, force="--force" in flags, accept_shrink="--accept-shrink" in flags
            )
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
            raise StackError(f"{name} exited with code {proc.returncode}")
        if _ready(url):
            return
        time.sleep(0.2)
    raise StackError(f"{name} not ready after {timeout:.0f}s")


def _service_envs(dsn_of: Callable[[str], str]) -> dict[str, dict[str, str]]:
    """Each process's environment: its own database role, its own port, its upstreams' URLs."""
    ports = {module: free_port() for module, _ in SERVICES}
    common = {
        **os.environ,
        "REZONE_DATA_DIR": str(DATA),
        "REZONE_TILES_PYRAMID_DIR": str(DATA / "tiles"),
        "REZONE_PUBLIC_URL": public_url(),
    }
    envs: dict[str, dict[str, str]] = {}
    for module, prefix in SERVICES:
        envs[module] = {
            **common,
            "DATABASE_URL": dsn_of(module),
            f"{prefix}HOST": "127.0.0.1",
            f"{prefix}PORT": str(ports[module]),
            "REZONE_REPORT_AGGREGATE_URL": f"http://127.0.0.1:{ports['services.aggregate']}",
        }
    gateway = {**common, "DATABASE_URL": dsn_of("gateway")}
    for module, _ in SERVICES:
        short = module.rsplit(".", 1)[-1].upper()
        gateway[f"REZONE_GATEWAY_{short}_URL"] = f"http://127.0.0.1:{ports[module]}"
    # Loopback unless told otherwise: a developer's stack is not a public server (REZONE_BIND=0.0.0.0).
    gateway["REZONE_GATEWAY_HOST"] = os.environ.get("REZONE_BIND", "127.0.0.1")
    gateway["REZONE_GATEWAY_PORT"] = str(public_port())
    gateway["REZONE_GATEWAY_INTERNAL_PORT"] = str(internal_port())
    envs["gateway"] = gateway
    return envs


def run() -> int:
    """Foreground stack, supervised; returns when interrupted (or when the gateway cannot be kept up)."""
    cluster = None if os.environ.get("DATABASE_URL") else embedded_cluster()
    started_cluster = cluster is not None and not cluster.running()
    dsn = database_url(start=True)
    load(dsn)
    envs = _service_envs(
        (lambda module: cluster.service_dsn(module, "rezone")) if cluster else (lambda module: dsn)
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    children = [Child(module, envs[module]) for module in [*(m for m, _ in SERVICES), "gateway"]]
    supervisor = Supervisor(children, log=lambda line: print(f"[stack] {line}", flush=True))
    announced = False
    try:
        while not stopping and not supervisor.gave_up("gateway"):
            supervisor.tick()
            if not announced and _ready(public_url()):
                print(f"[stack] Rézone CPTS ready on {public_url()}/ (Ctrl-C to stop)", flush=True)
                announced = True
            time.sleep(0.5)
    finally:
        supervisor.stop_all()  # gateway first: no new request reaches an upstream going away
        if started_cluster and cluster is not None:
            cluster.stop()
        print("[stack] stopped", flush=True)
    return 1 if supervisor.gave_up("gateway") else 0


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
    except StackError as exc:
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


def _main() -> int:
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
            load(database_url(start=True), sys.argv[2:])
        finally:
            if started_cluster:
                embedded_cluster().stop()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


def main() -> int:
    """Entry point: a failure prints what failed and why (file, line, reason for a rejected source file),
    never a traceback."""
    from services.common.errors import ImportRejected
    from services.ingest.migrate import MigrationError

    try:
        return _main()
    except ImportRejected as exc:
        print(
            f"[stack] import rejected: {exc.file}, line {exc.line if exc.line is not None else '-'}: "
            f"{exc.reason}\n[stack] nothing was loaded: the data served are those of the previous load",
            file=sys.stderr,
        )
        return 3
    except MigrationError as exc:
        print(f"[stack] migration error: {exc}", file=sys.stderr)
        return 4
    except (StackError, ClusterError) as exc:
        print(f"[stack] {exc}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"[stack] {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
