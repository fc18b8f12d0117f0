"""An embedded PostgreSQL/PostGIS cluster owned by the project, under a directory of its own.

The stack never touches a cluster it did not create: every command is given this cluster's data directory,
and the directory carries a marker file written by `init`.

Access: the owner (`rezone`, who runs the migrations and the loads) is trusted on the cluster's Unix socket
only, a directory inside the data directory that no other local account can enter. Every TCP login needs
its SCRAM password: the owner's and one per service role (V0121), generated at first start into
`<data_dir>-passwords.json` (mode 0600) and set on every start. pg_hba.conf is rewritten on every start.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

MARKER = "REZONE_CLUSTER"
DB_USER = "rezone"
# The login role of each service process (grants in sql/migrations/V0121__service_roles.sql; the same names
# are the CloudNativePG managed roles of deploy/db/cluster.yaml, checked by tests/deploy).
SERVICE_ROLES = {
    "services.tiles": "rezone_tiles",
    "services.aggregate": "rezone_aggregate",
    "services.report": "rezone_report",
    "gateway": "rezone_gateway",
}
_HBA = """# Written by deploy/local/cluster.py at every start: edits are overwritten.
# The owner is trusted on the cluster's own Unix socket only (a directory no other account can enter);
# every TCP login, the owner's included, needs its SCRAM password.
local   all   {owner}   trust
local   all   all       reject
host    all   all       127.0.0.1/32   scram-sha-256
host    all   all       ::1/128        scram-sha-256
"""


class ClusterError(RuntimeError):
    """A step of the cluster failed; the message carries what the failing command printed."""


# Settings sized for a 2-core, few-GiB machine loading ~40k polygons: big maintenance memory for index builds,
# a large WAL budget so the national load does not checkpoint every few seconds.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "shared_buffers": "256MB",
    "maintenance_work_mem": "512MB",
    "work_mem": "32MB",
    "max_wal_size": "4GB",
    "max_connections": "200",
    "jit": "off",
    "log_min_messages": "warning",
    "logging_collector": "off",
    "password_encryption": "scram-sha-256",
}


def pg_bindir() -> Path:
    """Newest PostgreSQL server binaries installed by Debian's packages (or found on PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    if which:
        return Path(which).resolve().parent
    raise RuntimeError("PostgreSQL server binaries not found: run scripts/bootstrap.sh")


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One data directory, one port; run as an unprivileged OS user when we are root."""

    def __init__(self, data_dir: Path, port: int, *, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.durable = durable
        self.bindir = pg_bindir()
        self.os_user = "postgres" if os.geteuid() == 0 else None

    @property
    def socket_dir(self) -> Path:
        """Unix socket directory, inside the cluster so that it never collides with a system cluster."""
        return self.data_dir / "run"

    @property
    def passwords_file(self) -> Path:
        """Where the generated passwords live (beside the data directory, readable by its creator only)."""
        return self.data_dir.with_name(self.data_dir.name + "-passwords.json")

    def passwords(self) -> dict[str, str]:
        """Password of the owner and of every service role, generated the first time (mode 0600)."""
        wanted = [DB_USER, *SERVICE_ROLES.values()]
        known: dict[str, str] = {}
        if self.passwords_file.exists():
            known = json.loads(self.passwords_file.read_text())
        if all(role in known for role in wanted):
            return known
        for role in wanted:
            known.setdefault(role, secrets.token_urlsafe(24))
        self.passwords_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.passwords_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(known, f, indent=1)
        os.chmod(self.passwords_file, 0o600)
        return known

    def dsn(self, database: str = "rezone", role: str = DB_USER) -> str:
        """libpq URL of a database of this cluster for a role (TCP, with its password)."""
        password = quote(self.passwords()[role], safe="")
        return f"postgresql://{role}:{password}@127.0.0.1:{self.port}/{database}"

    def service_dsn(self, module: str, database: str = "rezone") -> str:
        """DSN of a service process: its own role, never the owner."""
        return self.dsn(database, SERVICE_ROLES[module])

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.os_user:
            cmd = ["runuser", "-u", self.os_user, "--", *cmd]
        res = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if check and res.returncode != 0:
            raise ClusterError(
                f"{Path(args[0]).name} failed (exit {res.returncode}):\n{(res.stderr or res.stdout).strip()}"
            )
        return res

    def check_reachable(self) -> None:
        """The server runs as `postgres` when we are root: every folder above the data directory must let
        that user through, or initdb fails with a message nobody sees. Say which one and what to do."""
        if not self.os_user:
            return
        folder = self.data_dir
        while not folder.exists():
            folder = folder.parent
        blocked = None
        for part in [*reversed(folder.parents), folder]:
            probe = subprocess.run(
                ["runuser", "-u", self.os_user, "--", "test", "-x", str(part)], capture_output=True
            )
            if probe.returncode != 0:
                blocked = part
                break
        if blocked is not None:
            raise ClusterError(
                f"the PostgreSQL server runs as the `{self.os_user}` user, who cannot enter {blocked} "
                f"(on the way to {self.data_dir}). Either let it through: chmod o+x {blocked} (and every "
                "folder below it down to the checkout), or put the cluster elsewhere: "
                "REZONE_PG_DIR=/var/tmp/rezone-pg make run"
            )

    def initialised(self) -> bool:
        """True when this directory holds a cluster created by us."""
        return (self.data_dir / MARKER).exists()

    def init(self) -> None:
        """Create the cluster (idempotent); refuses a directory holding a cluster we did not create."""
        if self.initialised():
            return
        if (self.data_dir / "PG_VERSION").exists():
            raise ClusterError(f"{self.data_dir} holds a PostgreSQL cluster this project did not create")
        self.check_reachable()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.os_user:
            pw = pwd.getpwnam(self.os_user)
            os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.data_dir, 0o700)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            DB_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        )
        self.socket_dir.mkdir(exist_ok=True)
        conf = dict(SERVER_SETTINGS)
        if not self.durable:
            # Test clusters are thrown away: durability buys nothing and costs load time.
            conf.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        with open(self.data_dir / "postgresql.auto.conf", "a") as f:
            for key, value in conf.items():
                f.write(f"{key} = '{value}'\n")
        (self.data_dir / MARKER).write_text("created by rezone-cpts deploy/local/cluster.py\n")
        if self.os_user:
            pw = pwd.getpwnam(self.os_user)
            for path in (self.socket_dir, self.data_dir / MARKER, self.data_dir / "postgresql.auto.conf"):
                os.chown(path, pw.pw_uid, pw.pw_gid)

    def running(self) -> bool:
        """True when the postmaster of this directory is up."""
        if not self.initialised():
            return False
        return (
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "status", check=False).returncode
            == 0
        )

    def _write_hba(self) -> bool:
        """Write pg_hba.conf; True when it changed (a running server must reload it)."""
        hba = self.data_dir / "pg_hba.conf"
        text = _HBA.format(owner=DB_USER)
        if hba.exists() and hba.read_text() == text:
            return False
        hba.write_text(text)
        if self.os_user:
            pw = pwd.getpwnam(self.os_user)
            os.chown(hba, pw.pw_uid, pw.pw_gid)
        os.chmod(hba, 0o600)
        return True

    def _psql(self, database: str, sql: str) -> str:
        """Run SQL as the owner over the Unix socket (the one trusted path)."""
        res = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                DB_USER,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            raise ClusterError(f"psql failed (exit {res.returncode}):\n{res.stderr.strip()}")
        return res.stdout.strip()

    def ensure_roles(self) -> None:
        """The owner's password and every service's login role, with the passwords of passwords_file.

        Login and password only: what each role may do is granted by the migrations (V0121).
        """
        statements = []
        for role, password in self.passwords().items():
            literal = "'" + password.replace("'", "''") + "'"
            if role == DB_USER:
                statements.append(f"ALTER ROLE {role} PASSWORD {literal}")
                continue
            statements.append(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
                f"CREATE ROLE {role}; END IF; END $$"
            )
            statements.append(
                f"ALTER ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                f"NOBYPASSRLS CONNECTION LIMIT 200 PASSWORD {literal}"
            )
        self._psql("postgres", ";\n".join(statements))

    def start(self) -> None:
        """Start the server (or bring a running one's access rules up to date) and set the roles."""
        if self.running():
            if self._write_hba():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "reload")
            self.ensure_roles()
            return
        self.check_reachable()
        self._write_hba()
        opts = f"-p {self.port} -k {self.socket_dir}"
        res = self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.data_dir / "server.log"),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
            check=False,
        )
        if res.returncode != 0:
            log = (self.data_dir / "server.log").read_text(errors="replace")[-2000:]
            raise ClusterError(f"PostgreSQL did not start on port {self.port}:\n{res.stderr}\n{log}")
        self._wait_ready()
        self.ensure_roles()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            res = subprocess.run(
                [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if res.returncode == 0:
                return
            time.sleep(0.2)
        raise ClusterError(f"PostgreSQL on port {self.port} not ready after {timeout}s")

    def stop(self) -> None:
        """Fast shutdown: rolls back open transactions, which imports tolerate by design."""
        if self.running():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def ensure_database(self, name: str = "rezone") -> None:
        """Create the application database if it does not exist yet."""
        if not self._psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
            self._psql("postgres", f'CREATE DATABASE "{name}"')
