"""`make prod-up` / `make prod-down`: the production topology on one machine, from the images of `make image`.

    python -m deploy.local.prod up       build missing images, start everything, return once the edge is ready
    python -m deploy.local.prod down     stop and remove the containers (data under .data/prod is kept)
    python -m deploy.local.prod status   the containers and the edge URL

    nginx :19150 (edge: header/connection limits)  ─┬─ /tiles/, /styles/ → tile cache :19152 → tiles × N
                                                    └─ the rest → gateway × N ── Redis :26152
    gateway → tile cache :19152, aggregate Service :19153 (nginx, round robin) → aggregate × N,
              report Service :19154 → report × N
    tiles, aggregate, report, gateway → PgBouncer :26150 (transaction mode) → PostgreSQL/PostGIS :26151
    nginx exporter :19155 (stub_status :19151 + nginx's log stream on UDP :19156)

Every container: podman, host network, loopback ports 19150–19179, 19190–19194 and 26150–26152 (outside the
18000–18400 / 25000–25400 slots of `make run`, so that a developer's stack and this topology never collide),
read-only root, /tmp on tmpfs, all capabilities dropped, the manifests' uids. Worker counts
(REZONE_PROD_WORKERS, e.g. "gateway=2,tiles=2") default to the CPU count for gateway, tiles and aggregate
and report (least-connections balancing sends the cheap project and CSV requests to the worker that is not
compiling a PDF). The loader runs first as a one-off container (what the Job does), directly against
PostgreSQL, like the Job against `rezone-db-rw`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import asyncpg

from . import podman
from .prodconf import (
    AGGREGATE_LOGIN,
    DATA,
    IMAGES,
    PORT,
    ROOT,
    UIDS,
    _chown,
    _owned_dir,
    _secret,
    _service_env,
    edge_url,
    nginx_conf,
    pgbouncer_ini,
    workers,
)

STACK = "prod"
__all__ = ["AGGREGATE_LOGIN", "DATA", "IMAGES", "PORT", "UIDS", "_chown", "_owned_dir", "_secret", "edge_url"]


async def _wait_db(dsn: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = await asyncpg.connect(dsn, timeout=3)
            await conn.close()
            return
        except asyncpg.InvalidAuthorizationSpecificationError:
            raise
        except (OSError, asyncpg.PostgresError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def _aggregate_login(dsn: str, password: str) -> None:
    """The aggregate service's login: rezone_reader's grants and nothing else (deploy/db/cluster.yaml)."""
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", AGGREGATE_LOGIN)
        verb = "ALTER" if exists else "CREATE"
        quoted = password.replace("'", "''")
        await conn.execute(f"{verb} ROLE {AGGREGATE_LOGIN} LOGIN PASSWORD '{quoted}'")
        await conn.execute(f"GRANT rezone_reader TO {AGGREGATE_LOGIN}")
    finally:
        await conn.close()


def _step(label: str, started: float) -> None:
    print(f"[prod] {label} ({time.perf_counter() - started:.1f} s)", flush=True)


def up() -> int:
    """Start the topology; idempotent only in the sense that a running one is stopped first."""
    t0 = time.perf_counter()
    if podman.containers(STACK):
        podman.remove(STACK)
    missing = [image for image in IMAGES.values() if not podman.image_exists(image)]
    if missing:
        print(f"[prod] building missing images {missing} (make image)", flush=True)
        os.system(str(ROOT / "deploy" / "images" / "build.sh"))  # noqa: S605 - our own script, no input
    counts = workers()
    password, aggregate_password = _secret("db-password"), _secret("aggregate-password")
    secret_dir = DATA / "secrets"
    pg_pw = _owned_dir(DATA / "pg-secret", UIDS["postgres"]) / "password"
    pg_pw.unlink(missing_ok=True)
    pg_pw.write_text(password)
    _chown(pg_pw, UIDS["postgres"])
    pg_pw.chmod(0o400)
    direct = f"postgresql://rezone:{password}@127.0.0.1:{PORT['postgres']}/rezone"

    podman.run(
        "rezone-prod-postgres",
        IMAGES["postgis"],
        [
            "-c",
            f"port={PORT['postgres']}",
            "-c",
            "shared_buffers=512MB",
            "-c",
            "max_connections=200",
            "-c",
            "work_mem=32MB",
            "-c",
            "maintenance_work_mem=512MB",
            "-c",
            "max_wal_size=4GB",
            "-c",
            "jit=off",
            "-c",
            "effective_cache_size=4GB",
            "-c",
            "random_page_cost=1.1",
        ],
        stack=STACK,
        user=UIDS["postgres"],
        env={"POSTGRES_PASSWORD_FILE": "/run/rezone-pg/password"},
        volumes=[
            f"{_owned_dir(DATA / 'pg', UIDS['postgres'])}:/var/lib/rezone-pg:Z",
            f"{pg_pw.parent}:/run/rezone-pg:ro",
        ],
        tmpfs_mb=256,
    )
    asyncio.run(_wait_db(direct.rsplit("/", 1)[0] + "/postgres"))
    _step("PostgreSQL/PostGIS ready", t0)
    asyncio.run(_ensure_database(direct))

    data = _owned_dir(DATA / "data", UIDS["rezone"])
    out = podman.run(
        "rezone-prod-loader",
        IMAGES["rezone"],
        [
            "sh",
            "-c",
            "mkdir -p /data/cache && cp -n /opt/rezone/wheels/*.whl /data/cache/ && "
            "exec python -m services.ingest load --data-dir /data",
        ],
        stack=STACK,
        user=UIDS["rezone"],
        env={"DATABASE_URL": direct, "LOG_LEVEL": "INFO"},
        volumes=[f"{data}:/data:Z"],
        detach=False,
        tmpfs_mb=1024,
    )
    print(out.strip().splitlines()[-1] if out.strip() else "", flush=True)
    asyncio.run(_aggregate_login(direct, aggregate_password))
    _step("loader done (migrations, sources, views, pyramid)", t0)

    podman.run(
        "rezone-prod-redis",
        IMAGES["redis"],
        [
            "redis-server",
            "--port",
            str(PORT["redis"]),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory",
            "256mb",
            "--maxmemory-policy",
            "allkeys-lru",
            "--dir",
            "/tmp",
        ],
        stack=STACK,
    )
    ini, users = pgbouncer_ini(password, aggregate_password)
    pgb = _owned_dir(secret_dir / "pgbouncer", UIDS["pgbouncer"])
    for name, content in (("pgbouncer.ini", ini), ("userlist.txt", users)):
        (pgb / name).unlink(missing_ok=True)
        (pgb / name).write_text(content)
        _chown(pgb / name, UIDS["pgbouncer"])
        (pgb / name).chmod(0o400)
    podman.run(
        "rezone-prod-pgbouncer",
        IMAGES["pgbouncer"],
        stack=STACK,
        user=UIDS["pgbouncer"],
        volumes=[f"{pgb}:/etc/rezone-pgbouncer:ro"],
    )
    asyncio.run(_wait_db(f"postgresql://rezone:{password}@127.0.0.1:{PORT['pgbouncer']}/rezone"))
    _step("Redis and PgBouncer ready", t0)

    started: list[tuple[str, str]] = []
    for service, module in (
        ("tiles", "services.tiles"),
        ("aggregate", "services.aggregate"),
        ("report", "services.report"),
        ("gateway", "gateway"),
    ):
        for i in range(counts[service]):
            port = PORT[service] + i
            name = f"rezone-prod-{service}-{i}"
            podman.run(
                name,
                IMAGES["rezone"],
                ["python", "-m", module],
                stack=STACK,
                user=UIDS["rezone"],
                env=_service_env(service, port, password, aggregate_password),
                volumes=[f"{data}:/data:ro"] if service == "tiles" else [],
                tmpfs_mb=256 if service == "report" else 64,
            )
            started.append((name, f"http://127.0.0.1:{port}/readyz"))
        if service == "report":  # the gateway starts after its upstreams (as the local stack does)
            # nginx first: it is the aggregate Service the report service's readiness goes through.
            conf = DATA / "nginx"
            conf.mkdir(parents=True, exist_ok=True)
            (conf / "nginx.conf").write_text(nginx_conf(counts))
            cache = _owned_dir(DATA / "tile-cache", UIDS["nginx"])
            podman.run(
                "rezone-prod-nginx",
                IMAGES["nginx"],
                ["nginx", "-e", "stderr", "-c", "/etc/rezone-nginx/nginx.conf", "-g", "daemon off;"],
                stack=STACK,
                user=UIDS["nginx"],
                volumes=[f"{conf}:/etc/rezone-nginx:ro", f"{cache}:/var/cache/nginx:Z"],
            )
            for name, url in started:
                podman.wait_http(url, name, timeout=180)
            _step(
                f"tiles × {counts['tiles']}, aggregate × {counts['aggregate']}, "
                f"report × {counts['report']} ready",
                t0,
            )
    podman.run(
        "rezone-prod-nginx-exporter",
        IMAGES["rezone"],
        ["python", "-m", "services.common.nginx_exporter"],
        stack=STACK,
        user=UIDS["rezone"],
        env={
            "REZONE_NGINX_EXPORTER_PORT": str(PORT["exporter"]),
            "REZONE_NGINX_EXPORTER_SYSLOG_PORT": str(PORT["exporter_syslog"]),
            "REZONE_NGINX_EXPORTER_STATUS_URL": f"http://127.0.0.1:{PORT['status']}/stub_status",
        },
    )
    for i in range(counts["gateway"]):
        internal = PORT["gateway_internal"] + i  # the detailed readiness; the public one says the status only
        podman.wait_http(f"http://127.0.0.1:{internal}/readyz", f"rezone-prod-gateway-{i}", 180)
    podman.wait_http(f"http://127.0.0.1:{PORT['exporter']}/readyz", "rezone-prod-nginx-exporter", 60)
    podman.wait_http(edge_url() + "/api/v1/meta", "rezone-prod-nginx", 60)
    _step(f"edge ready on {edge_url()}/ (gateway × {counts['gateway']}; `make prod-down` stops it)", t0)
    return 0


async def _ensure_database(dsn: str) -> None:
    conn = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'rezone'"):
            await conn.execute('CREATE DATABASE "rezone"')
    finally:
        await conn.close()


def down() -> int:
    """Stop and remove every container of the topology (gateway side first: newest first)."""
    t0 = time.perf_counter()
    n = podman.remove(STACK)
    _step(f"{n} containers stopped and removed; data kept under {DATA}", t0)
    return 0


def status() -> int:
    """Print the containers."""
    for c in podman.containers(STACK):
        print(f"{', '.join(c.get('Names', []))}: {c.get('State')}")
    return 0


def main() -> int:
    """Entry point."""
    command = sys.argv[1] if len(sys.argv) > 1 else "up"
    commands = {"up": up, "down": down, "status": status}
    if command not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[command]()


if __name__ == "__main__":
    sys.exit(main())
