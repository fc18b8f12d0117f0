"""The deployed tile cache (nginx, `deploy/base/config/tile-cache.nginx.conf`) on loopback before an origin.

Only the listen addresses, the upstream address, the exporter's log stream and the writable paths are
rewritten; each rewrite must match exactly, so what runs here cannot drift from the configuration shipped in
the ConfigMap. Used by the deploy tests, the cached-tile benchmark and `make prod-up` (deploy/local/prod.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .cluster import free_port

CONF = Path(__file__).resolve().parents[1] / "base" / "config" / "tile-cache.nginx.conf"


class ConfigDrift(RuntimeError):
    """The shipped configuration no longer has a line the loopback rewrite expects."""


def _rewrite(text: str, old: str, new: str, count: int = 1) -> str:
    found = text.count(old)
    if found != count:
        raise ConfigDrift(f"{old!r} appears {found} times in {CONF.name}, expected {count}")
    return text.replace(old, new)


def loopback_conf(
    workdir: Path, port: int, origin_port: int, *, status_port: int = 0, exporter_port: int = 0
) -> Path:
    """The shipped configuration with loopback addresses and paths under `workdir`.

    The stub_status listener gets `status_port` (a free port if 0); the exporter's log stream goes to
    `exporter_port`, or nowhere if 0 (nginx would log every refused datagram).
    """
    text = CONF.read_text()
    text = _rewrite(text, "worker_processes auto;", "worker_processes 1;")
    text = _rewrite(text, "pid /tmp/nginx.pid;", f"pid {workdir}/nginx.pid;")
    text = _rewrite(text, "error_log /dev/stderr warn;", f"error_log {workdir}/error.log warn;")
    text = _rewrite(
        text,
        "access_log /dev/stdout json if=$access_sampled;",
        f"access_log {workdir}/access.log json if=$access_sampled;",
    )
    text, temp_paths = re.subn(r"(_temp_path\s+)/tmp/", rf"\g<1>{workdir}/", text)
    if temp_paths != 5:
        raise ConfigDrift(f"{temp_paths} temp paths in {CONF.name}, expected 5")
    text = _rewrite(text, "/var/cache/nginx/tiles", f"{workdir}/cache/tiles")
    text = _rewrite(text, "server tiles:8081;", f"server 127.0.0.1:{origin_port};")
    text = _rewrite(text, "listen 8080;", f"listen 127.0.0.1:{port};")
    text = _rewrite(text, "listen 127.0.0.1:8081;", f"listen 127.0.0.1:{status_port or free_port()};")
    syslog = "access_log syslog:server=127.0.0.1:5140,tag=nginx,nohostname metrics;"
    text = _rewrite(text, syslog, syslog.replace("5140", str(exporter_port)) if exporter_port else "")
    directives = "\n".join(line.split("#")[0] for line in text.splitlines())
    leftover = directives.replace(str(workdir), "")
    if "/tmp/" in leftover or "/var/" in leftover or "/dev/" in leftover:
        raise ConfigDrift(f"{CONF.name} writes outside the work directory")
    # In the pod, /var/cache/nginx is the mount point of an emptyDir: it exists, nginx creates `tiles` in it.
    (workdir / "cache").mkdir(exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(text)
    return conf


def nginx_binary() -> str:
    """Debian's nginx (scripts/bootstrap.sh test installs nginx-light)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise FileNotFoundError("nginx not found: scripts/bootstrap.sh test installs nginx-light")
    return found


def start(workdir: Path, port: int, origin_port: int, timeout: float = 10.0) -> subprocess.Popen:
    """nginx in the foreground with the loopback configuration, once it answers /livez."""
    conf = loopback_conf(workdir, port, origin_port)
    globals_ = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    check = subprocess.run(
        [nginx_binary(), "-t", "-p", str(workdir), "-c", str(conf), "-g", globals_],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t refused the configuration: {check.stderr}")
    proc = subprocess.Popen(
        [nginx_binary(), "-p", str(workdir), "-c", str(conf), "-g", globals_],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except (urllib.error.URLError, OSError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"nginx did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.05)
