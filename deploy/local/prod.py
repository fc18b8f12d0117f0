"""`make prod-up` / `make prod-down`: the production topology on one machine, from the images of `make image`.

    python -m deploy.local.prod up       build missing images, start everything, return once the edge is ready
    python -m deploy.local.prod down     stop and remove the containers (data under .data/prod is kept)
    python -m deploy.local.prod status   the containers and the edge URL

    nginx :18150 (edge: header/connection limits)  ─┬─ /tiles/, /styles/ → tile cache :18152 → tiles × N
                                                    └─ the rest → gateway × N ── Redis :25152
    gateway → tile cache :18152, aggregate Service :18153 (nginx, round robin) → aggregate × N,
              report Service :18154 → report × N
    tiles, aggregate, report, gateway → PgBouncer :25150 (transaction mode) → PostgreSQL/PostGIS :25151
    nginx exporter :18155 (stub_status :18151 + nginx's log stream on UDP :18156)

Every container: podman, host network, loopback ports of issue 15's range, read-only root, /tmp on tmpfs, all
capabilities dropped, the manifests' uids. Worker counts (REZONE_PROD_WORKERS, e.g. "gateway=2,tiles=2")
default to the CPU count for gateway, tiles and aggregate and half of it for report. The loader runs first as
a one-off container (what the Job does), directly against PostgreSQL, like the Job against `rezone-db-rw`.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import sys
import time
from pathlib import Path

import asyncpg

from . import podman
from .tile_cache import CONF as TILE_CACHE_CONF
from .tile_cache import _rewrite

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".data" / "prod"
STACK = "prod"
IMAGES = {
    "rezone": "rezone-cpts/rezone:dev",
    "nginx": "rezone-cpts/nginx:dev",
    "pgbouncer": "rezone-cpts/pgbouncer:dev",
    "redis": "rezone-cpts/redis:dev",
    "postgis": "rezone-cpts/postgis:dev",
}
PORT = {
    "edge": 18150,
    "status": 18151,
    "tile_cache": 18152,
    "aggregate_lb": 18153,
    "report_lb": 18154,
    "exporter": 18155,
    "exporter_syslog": 18156,
    "gateway": 18160,  # workers at 18160, 18161, …
    "tiles": 18165,
    "aggregate": 18170,
    "report": 18175,
    "pgbouncer": 25150,
    "postgres": 25151,
    "redis": 25152,
}
UIDS = {"rezone": "10001:10001", "postgres": "999:999", "nginx": "101:101", "pgbouncer": "10003:10003"}
AGGREGATE_LOGIN = "rezone_aggregate"


def workers() -> dict[str, int]:
    """Worker processes per service: as many as cores (report: half), overridable by REZONE_PROD_WORKERS."""
    cpus = os.cpu_count() or 2
    counts = {"gateway": cpus, "tiles": cpus, "aggregate": cpus, "report": max(1, cpus // 2)}
    for item in filter(None, os.environ.get("REZONE_PROD_WORKERS", "").split(",")):
        name, _, count = item.partition("=")
        if name not in counts or not count.isdigit() or not 1 <= int(count) <= 5:
            raise SystemExit(f"REZONE_PROD_WORKERS: {item!r} (services {sorted(counts)}, 1-5 each)")
        counts[name] = int(count)
    return counts


def edge_url() -> str:
    """The public URL of the topology."""
    return f"http://127.0.0.1:{PORT['edge']}"


def _secret(name: str) -> str:
    path = DATA / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _chown(path: Path, uid_gid: str) -> None:
    """Hand a path to the container's uid (we run as root; a non-root user owns what it made already)."""
    if os.geteuid() == 0:
        uid, gid = (int(x) for x in uid_gid.split(":"))
        os.chown(path, uid, gid)


def _owned_dir(path: Path, uid_gid: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    _chown(path, uid_gid)
    return path


def nginx_conf(counts: dict[str, int]) -> str:
    """The shipped tile-cache configuration (container paths kept) plus deploy/local/edge.nginx.conf."""
    text = TILE_CACHE_CONF.read_text()
    tiles = "\n".join(f"        server 127.0.0.1:{PORT['tiles'] + i};" for i in range(counts["tiles"]))
    text = _rewrite(text, "        server tiles:8081;", tiles)
    text = _rewrite(text, "listen 8080;", f"listen 127.0.0.1:{PORT['tile_cache']} backlog=4096;")
    text = _rewrite(text, "listen 127.0.0.1:8081;", f"listen 127.0.0.1:{PORT['status']};")
    text = _rewrite(
        text, "syslog:server=127.0.0.1:5140", f"syslog:server=127.0.0.1:{PORT['exporter_syslog']}"
    )
    text = _rewrite(text, "worker_connections 4096;", "worker_connections 8192;")
    edge = (ROOT / "deploy" / "local" / "edge.nginx.conf").read_text()
    values = {
        "EDGE_PORT": PORT["edge"],
        "TILE_CACHE_PORT": PORT["tile_cache"],
        "AGGREGATE_PORT": PORT["aggregate_lb"],
        "REPORT_PORT": PORT["report_lb"],
        "EXPORTER_PORT": PORT["exporter_syslog"],
    }
    for service in ("gateway", "aggregate", "report"):
        values[f"{service.upper()}_SERVERS"] = "\n".join(
            f"    server 127.0.0.1:{PORT[service] + i} max_fails=1 fail_timeout=5s;"
            for i in range(counts[service])
        )
    for key, value in values.items():
        edge = _rewrite(edge, "{{" + key + "}}", str(value), count=edge.count("{{" + key + "}}") or 1)
    if "{{" in edge:
        unfilled = re.findall(r"{{\w+}}", edge)
        raise RuntimeError(f"unfilled placeholder in edge.nginx.conf: {unfilled}")
    closing = text.rstrip().rfind("}")
    return text[:closing] + "\n" + edge + "}\n"


def pgbouncer_ini(password: str, aggregate_password: str) -> tuple[str, str]:
    """pgbouncer.ini and userlist.txt."""
    ini = f"""[databases]
rezone = host=127.0.0.1 port={PORT["postgres"]} dbname=rezone

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {PORT["pgbouncer"]}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = /etc/rezone-pgbouncer/userlist.txt
pool_mode = transaction
; asyncpg prepares every statement: PgBouncer >= 1.21 tracks protocol-level prepared statements per client
; and re-prepares them on whichever server connection runs the transaction (docs/deploy.md).
max_prepared_statements = 200
; statement_timeout arrives as a start-up parameter (services.common.db.pg_ctx); asyncpg's command_timeout
; still bounds every query. `role` is deliberately not ignored (the aggregate login has its own role).
ignore_startup_parameters = statement_timeout
max_client_conn = 2000
default_pool_size = 20
reserve_pool_size = 5
reserve_pool_timeout = 2
server_idle_timeout = 300
query_wait_timeout = 5
query_timeout = 15
admin_users = rezone
stats_users = rezone
logfile =
pidfile =
log_connections = 0
log_disconnections = 0
"""
    users = f'"rezone" "{password}"\n"{AGGREGATE_LOGIN}" "{aggregate_password}"\n'
    return ini, users


def _service_env(service: str, port: int, password: str, aggregate_password: str) -> dict[str, str]:
    prefix = f"REZONE_{service.upper()}_"
    user, pw = ("rezone", password)
    env = {f"{prefix}HOST": "127.0.0.1", f"{prefix}PORT": str(port), f"{prefix}LOG_LEVEL": "INFO"}
    if service == "aggregate":
        # As in Kubernetes: its own login (member of rezone_reader only), no `role` start-up parameter.
        user, pw = AGGREGATE_LOGIN, aggregate_password
        env[f"{prefix}DB_ROLE"] = ""
        env[f"{prefix}POOL_MAX"] = "6"
    env["DATABASE_URL"] = f"postgresql://{user}:{pw}@127.0.0.1:{PORT['pgbouncer']}/rezone"
    if service == "tiles":
        env |= {
            "REZONE_TILES_PYRAMID_DIR": "/data/tiles",
            "REZONE_TILES_PUBLIC_URL": edge_url(),
            "REZONE_TILES_CACHE_MB": "64",
        }
    if service == "report":
        env |= {
            "REZONE_REPORT_AGGREGATE_URL": f"http://127.0.0.1:{PORT['aggregate_lb']}",
            "REZONE_REPORT_MAX_PARALLEL_RENDERS": "1",
        }
    if service == "gateway":
        env |= {
            "REZONE_GATEWAY_TILES_URL": f"http://127.0.0.1:{PORT['tile_cache']}",
            "REZONE_GATEWAY_AGGREGATE_URL": f"http://127.0.0.1:{PORT['aggregate_lb']}",
            "REZONE_GATEWAY_REPORT_URL": f"http://127.0.0.1:{PORT['report_lb']}",
            "REZONE_GATEWAY_WEB_DIR": "/app/web",
            "REZONE_GATEWAY_PUBLIC_URL": edge_url(),
            "REZONE_GATEWAY_TRUST_FORWARDED": "true",
            "REZONE_GATEWAY_READY_UPSTREAMS": "",
            "REZONE_GATEWAY_POOL_MAX": "3",
            "REDIS_URL": f"redis://127.0.0.1:{PORT['redis']}/0",
        }
    return env


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
        podman.wait_http(f"http://127.0.0.1:{PORT['gateway'] + i}/readyz", f"rezone-prod-gateway-{i}", 180)
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
