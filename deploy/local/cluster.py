"""An embedded PostgreSQL/PostGIS cluster owned by the project, under a directory of its own.

The stack never touches a cluster it did not create: every command is given this cluster's data directory,
and the directory carries a marker file written by `init`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

MARKER = "REZONE_CLUSTER"
DB_USER = "rezone"

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

    def dsn(self, database: str = "rezone") -> str:
        """libpq URL of a database of this cluster."""
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.os_user:
            cmd = ["runuser", "-u", self.os_user, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    def initialised(self) -> bool:
        """True when this directory holds a cluster created by us."""
        return (self.data_dir / MARKER).exists()

    def init(self) -> None:
        """Create the cluster (idempotent); refuses a directory holding a cluster we did not create."""
        if self.initialised():
            return
        if (self.data_dir / "PG_VERSION").exists():
            raise RuntimeError(f"{self.data_dir} holds a PostgreSQL cluster this project did not create")
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

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        if self.running():
            return
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
            raise RuntimeError(f"PostgreSQL did not start on port {self.port}:\n{res.stderr}\n{log}")
        self._wait_ready()

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
        raise RuntimeError(f"PostgreSQL on port {self.port} not ready after {timeout}s")

    def stop(self) -> None:
        """Fast shutdown: rolls back open transactions, which imports tolerate by design."""
        if self.running():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def ensure_database(self, name: str = "rezone") -> None:
        """Create the application database if it does not exist yet."""
        psql = [
            str(self.bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            DB_USER,
            "-d",
            "postgres",
            "-tAc",
        ]
        exists = subprocess.run(
            [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not exists:
            subprocess.run([*psql, f'CREATE DATABASE "{name}"'], capture_output=True, text=True, check=True)
