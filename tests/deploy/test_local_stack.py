"""The local stack's own robustness: the supervisor's restart policy, the checkout the `postgres` user cannot
enter, the clean messages of failed commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
