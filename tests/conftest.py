"""Session fixtures: a private PostGIS server, a fully loaded database, real service processes.

The full load (reference + demo dataset + views + tile tables) takes a minute or two, so it is built once into
a template database named after a fingerprint of everything that shapes it (migrations, ingest code, tile
build code); each session then clones the template, which takes seconds. Set REZONE_TEST_PG_URL to an admin
DSN of an existing server to use it instead of the private cluster (developers sharing one machine do this).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import pytest

from deploy.local.cluster import SERVICE_ROLES, Cluster, free_port

ROOT = Path(__file__).resolve().parents[1]

DATA_DIR = ROOT / ".data" / "test-data"
# What shapes the template: migrations, the loader, the tile build and what it reads of the serving package.
TEMPLATE_INPUTS = (
    "sql",
    "services/ingest",
    "services/common/toponyms.py",
    "services/tiles/build",
    "services/tiles/catalog.py",
    "services/tiles/layout.py",
)
SERVICE_PREFIX = {
    "services.tiles": "REZONE_TILES_",
    "services.aggregate": "REZONE_AGGREGATE_",
    "services.report": "REZONE_REPORT_",
    "gateway": "REZONE_GATEWAY_",
}
_LOCK_KEY = 0x54504C  # serialises template builds between concurrent sessions


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for pattern in TEMPLATE_INPUTS:
        for path in sorted(ROOT.glob(pattern)):
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for f in files:
                if "__pycache__" in f.parts:
                    continue
                digest.update(str(f.relative_to(ROOT)).encode())
                digest.update(f.read_bytes())
    return digest.hexdigest()[:12]


def with_db(dsn: str, database: str) -> str:
    return dsn.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    """The private test cluster (None when REZONE_TEST_PG_URL names an existing server)."""
    if os.environ.get("REZONE_TEST_PG_URL"):
        yield None
        return
    cluster = Cluster(ROOT / ".data" / f"testpg-{os.getpid()}", free_port(), durable=False)
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.data_dir, ignore_errors=True)
        cluster.passwords_file.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def pg_admin_url(pg_cluster: Cluster | None) -> str:
    """Admin DSN (database `postgres`) of the test server: a private cluster unless REZONE_TEST_PG_URL."""
    if pg_cluster is None:
        return with_db(os.environ["REZONE_TEST_PG_URL"], "postgres")
    return pg_cluster.dsn("postgres")


async def _set_role_passwords(admin_url: str, passwords: dict[str, str]) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        for role, password in passwords.items():
            exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            if not exists:
                await admin.execute(f"CREATE ROLE {role}")
            literal = "'" + password.replace("'", "''") + "'"
            await admin.execute(f"ALTER ROLE {role} LOGIN PASSWORD {literal}")
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def role_passwords(pg_cluster: Cluster | None, pg_admin_url: str) -> dict[str, str]:
    """Password of each service's login role on the test server.

    A private cluster generated its own (cluster.py). A shared server gets passwords derived from its admin
    DSN, so that concurrent sessions set the same ones instead of locking each other out.
    """
    if pg_cluster is not None:
        return {role: pg_cluster.passwords()[role] for role in SERVICE_ROLES.values()}
    passwords = {
        role: hashlib.sha256(f"{pg_admin_url}|{role}".encode()).hexdigest()[:32]
        for role in SERVICE_ROLES.values()
    }
    asyncio.run(_set_role_passwords(pg_admin_url, passwords))
    return passwords


def role_dsn(database_url: str, role: str, password: str) -> str:
    """`database_url` with another login (the test database, a service's role)."""
    parts = urlsplit(database_url)
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


async def build_template(
    admin_url: str,
    name: str,
    fill: Callable[[asyncpg.Connection], Awaitable[None]],
    prefix: str,
    lock: int = _LOCK_KEY,
) -> None:
    """Database `name` made by `fill` on a fresh database, once (concurrent sessions wait on `lock` for the
    first); older databases named `prefix…` are dropped then, as they only cost disk."""
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute("SELECT pg_advisory_lock($1)", lock)
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return
        building = f"{name}_building"
        await admin.execute(f'DROP DATABASE IF EXISTS "{building}"')
        await admin.execute(f'CREATE DATABASE "{building}"')
        conn = await asyncpg.connect(with_db(admin_url, building))
        try:
            await fill(conn)
        finally:
            await conn.close()
        await admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        # One still cloned by another session stays until next time.
        for old in await admin.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1 || '%' AND datname <> $2", prefix, name
        ):
            try:
                await admin.execute(f'DROP DATABASE "{old["datname"]}"')
            except asyncpg.PostgresError:
                pass
    finally:
        await admin.execute("SELECT pg_advisory_unlock($1)", lock)
        await admin.close()


async def _national_load(conn: asyncpg.Connection) -> None:
    from services.ingest import migrate
    from services.ingest.pipeline import run_load

    cache = ROOT / ".data" / "cache"
    (DATA_DIR / "cache").mkdir(parents=True, exist_ok=True)
    for wheel in cache.glob("*.whl"):  # reuse a wheel already fetched by `make run`
        target = DATA_DIR / "cache" / wheel.name
        if not target.exists():
            shutil.copy(wheel, target)
    await migrate.migrate(conn)
    await run_load(conn, data_dir=DATA_DIR, force=True)


async def clone(admin_url: str, template: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        for _ in range(
            50
        ):  # CREATE DATABASE … TEMPLATE needs the template free of connections for an instant
            try:
                await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                return
            except asyncpg.ObjectInUseError:
                await asyncio.sleep(0.2)
        raise RuntimeError(f"template {template} stayed busy")
    finally:
        await admin.close()


async def drop(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def session_copy(
    admin_url: str,
    template: str,
    fill: Callable[[asyncpg.Connection], Awaitable[None]],
    kind: str,
    lock: int = _LOCK_KEY,
) -> Iterator[str]:
    """DSN of a session's own clone of `template` (built by `fill` when missing; older templates of the same
    prefix dropped), dropped at the end."""
    prefix = template.split("_", 1)[0] + "\\_"
    asyncio.run(build_template(admin_url, template, fill, prefix, lock))
    name = f"{kind}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(clone(admin_url, template, name))
    try:
        yield with_db(admin_url, name)
    finally:
        asyncio.run(drop(admin_url, name))


@pytest.fixture(scope="session")
def database_url(pg_admin_url: str) -> Iterator[str]:
    """DSN of this session's own database: migrations applied, full load (reference, demo data, views)."""
    yield from session_copy(pg_admin_url, f"tpl_{_fingerprint()}", _national_load, "test")


@pytest.fixture(scope="session")
def make_loaded_database(pg_admin_url: str, database_url: str) -> Iterator[Callable[[], str]]:
    """Factory of scratch copies of the loaded template, for tests that change data (dropped at the end)."""
    template = f"tpl_{_fingerprint()}"  # built by `database_url`
    created: list[str] = []

    def make() -> str:
        name = f"scratch_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        # A thread of its own: callable from async tests, whose event loop is already running.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, clone(pg_admin_url, template, name)).result()
        created.append(name)
        return with_db(pg_admin_url, name)

    yield make
    for name in created:
        asyncio.run(drop(pg_admin_url, name))


@pytest.fixture(scope="session")
def make_empty_database(pg_admin_url: str) -> Iterator[Callable[[], str]]:
    """Factory of fresh, empty databases on the test server (dropped at session end)."""
    created: list[str] = []

    async def create(name: str) -> None:
        admin = await asyncpg.connect(pg_admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    def make() -> str:
        name = f"empty_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        asyncio.run(create(name))
        created.append(name)
        return with_db(pg_admin_url, name)

    yield make
    for name in created:
        asyncio.run(drop(pg_admin_url, name))


@pytest.fixture(scope="session")
def test_data_dir() -> Path:
    """Data directory the template was loaded from (demo files, tile pyramids)."""
    return DATA_DIR


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests keep what a person should be able to look at (screenshots, PDFs, PNG pages)."""
    path = ROOT / "tests" / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout}s:\n{log.read_text()[-4000:]}")


class ServiceRunner:
    """Starts services as real processes on free ports; one process per (module, env) for the session."""

    def __init__(
        self, database_url: str, data_dir: Path, log_dir: Path, passwords: dict[str, str] | None = None
    ) -> None:
        self.database_url = database_url
        self.passwords = passwords or {}
        self.internal_urls: dict[str, str] = {}
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.procs: dict[tuple, tuple[subprocess.Popen, str]] = {}
        self.logs: dict[str, Path] = {}

    def __call__(self, module: str, env: dict[str, str] | None = None, *, ready: bool = True) -> str:
        """Base URL of the process; `ready=False` returns as soon as it is spawned (database down tests)."""
        key = (module, tuple(sorted((env or {}).items())))
        if key in self.procs:
            return self.procs[key][1]
        prefix = SERVICE_PREFIX[module]
        # A caller may fix the port beforehand: the stack fixtures name the gateway's origin to the tiles.
        port = int((env or {}).get(f"{prefix}PORT") or free_port())
        role = SERVICE_ROLES[module]
        # Each service logs in with its own role, as in the stack and in Kubernetes (V0121).
        dsn = (
            role_dsn(self.database_url, role, self.passwords[role])
            if role in self.passwords
            else self.database_url
        )
        url = f"http://127.0.0.1:{port}"
        internal_port = free_port() if module == "gateway" else 0
        full_env = {
            **os.environ,
            "DATABASE_URL": dsn,
            # A service reached directly is its own public origin (in the stack: the gateway's).
            "REZONE_PUBLIC_URL": url,
            "REZONE_GATEWAY_INTERNAL_PORT": str(internal_port),
            f"{prefix}HOST": "127.0.0.1",
            f"{prefix}PORT": str(port),
            "REZONE_TILES_PYRAMID_DIR": str(self.data_dir / "tiles"),
            "REZONE_DATA_DIR": str(self.data_dir),
            **(env or {}),
        }
        log = self.log_dir / f"{module.replace('.', '_')}-{port}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=ROOT,
            env=full_env,
            # A service restarted on its port (tests/report/test_batch.py) appends to the log of the process
            # it replaces; a log of an earlier session is started over.
            stdout=log.open("ab" if url in self.logs else "wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            if ready:
                _wait_ready(url, proc, log)
        except Exception:
            proc.kill()
            raise
        self.procs[key] = (proc, url)
        self.logs[url] = log
        if internal_port:
            self.internal_urls[url] = f"http://127.0.0.1:{internal_port}"
        return url

    def internal(self, url: str) -> str:
        """The internal origin (/metrics, detailed /readyz) of a gateway started here."""
        return self.internal_urls[url]

    def log_records(self, module: str) -> list[dict]:
        """The JSON log records so far of every process of `module` started here, restarts included."""
        prefix = f"{module.replace('.', '_')}-"
        lines = [
            line
            for log in set(self.logs.values())
            if log.name.startswith(prefix)
            for line in log.read_text(errors="replace").splitlines()
        ]
        return [json.loads(line) for line in lines if line.startswith("{")]

    def process(self, url: str) -> subprocess.Popen:
        """The process serving `url` (to kill it)."""
        return next(proc for proc, u in self.procs.values() if u == url)

    def forget(self, url: str) -> None:
        """Drop a process that was killed from the registry (a later call starts a new one)."""
        for key, (_, u) in list(self.procs.items()):
            if u == url:
                del self.procs[key]

    def stop(self, url: str) -> None:
        """Stop one service (resilience tests); a later call with the same key starts a new one."""
        for key, (proc, u) in list(self.procs.items()):
            if u == url:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
                del self.procs[key]

    def close(self) -> None:
        """Graceful stop of every process, then kill what lingers."""
        for proc, _ in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc, _ in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


@pytest.fixture(scope="session")
def run_service(
    database_url: str, test_data_dir: Path, artifacts_dir: Path, role_passwords: dict[str, str]
) -> Iterator[ServiceRunner]:
    """`run_service("services.aggregate", {...}) -> base URL` of a real process on a free port, logged in
    with the service's own database role."""
    log_dir = artifacts_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    runner = ServiceRunner(database_url, test_data_dir, log_dir, role_passwords)
    yield runner
    runner.close()
