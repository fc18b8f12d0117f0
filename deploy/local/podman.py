"""podman with the project's engine settings (deploy/podman/*.conf): run, wait, stop, clean up by label.

Every container the project starts carries the label `rezone-cpts/stack=<name>`, so that `down` removes
exactly those (by id), never a container some other user of the machine started.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LABEL = "rezone-cpts/stack"


def engine_env() -> dict[str, str]:
    """The environment podman and buildah read their configuration from."""
    return {
        **os.environ,
        "CONTAINERS_CONF": str(ROOT / "deploy" / "podman" / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(ROOT / "deploy" / "podman" / "storage.conf"),
    }


def podman(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """One podman command; its stderr is part of the error when it fails."""
    res = subprocess.run(
        ["podman", *args], env=engine_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and res.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:3])}… failed ({res.returncode}): {res.stderr.strip()}")
    return res


def image_exists(image: str) -> bool:
    """Whether the image is in local storage."""
    return podman("image", "exists", image, check=False).returncode == 0


def run(
    name: str,
    image: str,
    command: Sequence[str] = (),
    *,
    stack: str,
    env: dict[str, str] | None = None,
    volumes: Sequence[str] = (),
    user: str | None = None,
    tmpfs_mb: int = 64,
    cpus: str | None = None,
    detach: bool = True,
) -> str:
    """Start a container on the host network, read-only root, /tmp on tmpfs, no capabilities; its id."""
    args = [
        "run",
        "--name",
        name,
        "--label",
        f"{LABEL}={stack}",
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        f"/tmp:rw,size={tmpfs_mb}m,mode=1777",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--log-opt",
        "max-size=50mb",
    ]
    if detach:
        args.append("--detach")
    else:
        args.append("--rm")
    if user:
        args += ["--user", user]
    if cpus:
        args += ["--cpuset-cpus", cpus]
    for key, value in (env or {}).items():
        args += ["--env", f"{key}={value}"]
    for volume in volumes:
        args += ["--volume", volume]
    res = podman(*args, image, *command, timeout=3600)
    return res.stdout.strip().splitlines()[-1] if detach else res.stdout


def running(name: str) -> bool:
    """Whether a container of this name is running."""
    res = podman("container", "inspect", "--format", "{{.State.Running}}", name, check=False)
    return res.returncode == 0 and res.stdout.strip() == "true"


def containers(stack: str) -> list[dict[str, object]]:
    """Containers of one stack (any state)."""
    res = podman("ps", "--all", "--filter", f"label={LABEL}={stack}", "--format", "json")
    return json.loads(res.stdout or "[]")


def remove(stack: str, timeout_s: int = 30) -> int:
    """Stop (SIGTERM, then the timeout) and remove every container of the stack, newest first; how many."""
    found = containers(stack)
    ids = [str(c["Id"]) for c in sorted(found, key=lambda c: str(c.get("Created", "")), reverse=True)]
    for cid in ids:
        podman("stop", "--time", str(timeout_s), cid, check=False, timeout=timeout_s + 30)
        podman("rm", "--force", cid, check=False)
    return len(ids)


def wait_http(url: str, name: str, timeout: float = 120.0) -> None:
    """Until the URL answers 200, or the container exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if not running(name):
            logs = podman("logs", "--tail", "30", name, check=False)
            raise RuntimeError(f"{name} stopped before {url} answered:\n{logs.stdout}{logs.stderr}")
        time.sleep(0.3)
    raise RuntimeError(f"{name}: {url} not ready after {timeout:.0f}s")
