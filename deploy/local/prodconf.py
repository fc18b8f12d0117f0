"""What `make prod-up` runs, as data: images, ports, uids, worker counts, secrets and the rendered
configurations (nginx edge + tile cache, PgBouncer, each service's environment). deploy/local/prod.py starts
the containers; deploy/local/kubeplay.py reuses the data tier and these values.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from .tile_cache import CONF as TILE_CACHE_CONF
from .tile_cache import _rewrite

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".data" / "prod"
IMAGES = {
    "rezone": "rezone-cpts/rezone:dev",
    "nginx": "rezone-cpts/nginx:dev",
    "pgbouncer": "rezone-cpts/pgbouncer:dev",
    "redis": "rezone-cpts/redis:dev",
    "postgis": "rezone-cpts/postgis:dev",
}
PORT = {
    "edge": 19150,
    "status": 19151,
    "tile_cache": 19152,
    "aggregate_lb": 19153,
    "report_lb": 19154,
    "exporter": 19155,
    "exporter_syslog": 19156,
    "gateway": 19160,  # workers at 19160, 19161, …
    "tiles": 19165,
    "aggregate": 19170,
    "report": 19175,
    "gateway_internal": 19190,  # the gateways' /metrics and detailed /readyz at 19190, 19191, …
    "pgbouncer": 26150,
    "postgres": 26151,
    "redis": 26152,
}
UIDS = {"rezone": "10001:10001", "postgres": "999:999", "nginx": "101:101", "pgbouncer": "10003:10003"}
AGGREGATE_LOGIN = "rezone_aggregate"


def workers() -> dict[str, int]:
    """Worker processes per service: as many as cores, overridable by REZONE_PROD_WORKERS."""
    cpus = os.cpu_count() or 2
    counts = {"gateway": cpus, "tiles": cpus, "aggregate": cpus, "report": cpus}
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
            # As in Kubernetes: the batch queue on PostgreSQL itself, not through the transaction-mode
            # PgBouncer (LISTEN/NOTIFY needs a session).
            "REZONE_REPORT_QUEUE_DATABASE_URL": f"postgresql://{user}:{pw}@127.0.0.1:{PORT['postgres']}/rezone",
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
            "REZONE_GATEWAY_INTERNAL_PORT": str(port - PORT["gateway"] + PORT["gateway_internal"]),
            "REDIS_URL": f"redis://127.0.0.1:{PORT['redis']}/0",
        }
    return env
