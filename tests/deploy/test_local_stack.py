"""The local stack's own robustness: the supervisor's restart policy, the checkout the `postgres` user cannot
enter, the clean messages of failed commands."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import pytest

from deploy.local.cluster import Cluster, ClusterError, free_port
from deploy.local.supervisor import Child, Supervisor

ROOT = Path(__file__).resolve().parents[2]


def _wait(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("not reached")


def test_supervisor_restarts_with_backoff_then_gives_up():
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x",
        "REZONE_REPORT_PORT": "not-a-port",
    }
    child = Child("services.report", env)  # exits at once: its settings are invalid
    lines: list[str] = []
    supervisor = Supervisor([child], log=lines.append, backoff_s=0.05, max_fast_failures=3)
    _wait(lambda: (supervisor.tick(), child.given_up)[1], 60)
    assert child.restarts == 2 and len(lines) == 3
    assert "restarting in 0.1s" in lines[1] and "giving up" in lines[2]
    assert supervisor.gave_up("report") and not supervisor.gave_up("gateway")


def test_supervisor_restarts_a_killed_child(tmp_path: Path):
    script = tmp_path / "sleeper.py"
    script.write_text("import time\ntime.sleep(60)\n")
    child = Child("sleeper", {**os.environ, "PYTHONPATH": str(tmp_path)})
    lines: list[str] = []
    supervisor = Supervisor([child], log=lines.append, backoff_s=0.05, fast_s=0.0)
    try:
        supervisor.tick()
        first = child.proc
        assert first is not None
        first.kill()
        _wait(lambda: (supervisor.tick(), child.proc is not None and child.proc is not first)[1], 30)
        assert child.restarts == 1 and not child.given_up and "exited with code -9" in lines[0]
    finally:
        supervisor.stop_all(timeout_s=5)


@pytest.mark.skipif(os.geteuid() != 0, reason="the server runs as `postgres` only when we are root")
def test_unreachable_checkout_is_detected_before_initdb():
    private = Path(tempfile.mkdtemp(dir="/var/tmp"))  # mode 0700, like `mktemp -d` or a private home
    try:
        cluster = Cluster(private / "checkout" / ".data" / "pg", free_port())
        with pytest.raises(ClusterError) as caught:
            cluster.init()
        message = str(caught.value)
        assert str(private) in message and "chmod o+x" in message and "REZONE_PG_DIR" in message
        assert not (private / "checkout" / ".data" / "pg" / "PG_VERSION").exists()
    finally:
        shutil.rmtree(private, ignore_errors=True)


def test_failed_stack_command_prints_its_reason_not_a_traceback():
    env = {**os.environ, "DATABASE_URL": f"postgresql://nobody:x@127.0.0.1:{free_port()}/none"}
    res = subprocess.run(
        [sys.executable, "-m", "deploy.local.stack", "load"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 1
    assert "Traceback" not in res.stderr and res.stderr.startswith("[stack] ")


def test_make_load_of_a_rejected_file_prints_file_line_and_reason(
    database_url: str, test_data_dir: Path, tmp_path
):
    """What `make load` runs, on a FINESS file cut at a line boundary (the cut seen in the field): the
    rejection in two lines (file, line, reason; nothing loaded), no traceback, published data unchanged."""
    from services.ingest import demo
    from services.ingest.finess import FILE_PATTERN

    data = tmp_path / "data"
    shutil.copytree(test_data_dir / "demo", data / "demo", copy_function=os.link)
    (data / "sources").mkdir()
    manifest = demo.read_manifest(test_data_dir / "demo")
    assert manifest
    lines = (test_data_dir / "demo" / manifest["files"]["finess"]["name"]).read_bytes().split(b"\n")
    name = FILE_PATTERN.replace("*", "20990101")
    (data / "sources" / name).write_bytes(b"\n".join(lines[: len(lines) * 7 // 10]) + b"\n")
    env = {**os.environ, "DATABASE_URL": database_url, "REZONE_DATA_DIR": str(data)}
    before = asyncio.run(_published(database_url))
    res = subprocess.run(
        [sys.executable, "-m", "deploy.local.stack", "load"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 3, res.stderr[-2000:]
    assert "Traceback" not in res.stderr + res.stdout
    rejection = [line for line in res.stderr.splitlines() if line.startswith("[stack] ")]
    assert len(rejection) == 2, res.stderr[-2000:]
    assert re.fullmatch(
        rf"\[stack\] import rejected: {re.escape(name)}, line \d+: .*geolocalisation.*", rejection[0]
    )
    assert rejection[1] == "[stack] nothing was loaded: the data served are those of the previous load"
    assert asyncio.run(_published(database_url)) == before


async def _published(dsn: str) -> tuple:
    conn = await asyncpg.connect(dsn)
    try:
        return (
            await conn.fetchval("SELECT generation FROM ref.load_state"),
            await conn.fetchval("SELECT ref.data_version()"),
            await conn.fetchval("SELECT count(*) FROM health.finess_et WHERE geom IS NOT NULL"),
        )
    finally:
        await conn.close()
