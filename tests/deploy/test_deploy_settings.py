"""The manifests and the services agree: every setting the manifests pass exists and parses, ports, upstream
URLs, timeouts and the loader's command line match what the code and the other manifests expect."""

from __future__ import annotations

import importlib
import math
import re
import subprocess
import sys
from urllib.parse import urlsplit

import msgspec
import pytest
from deploy_checks import (
    DEPLOY,
    ROOT,
    by_kind,
    db_host,
    env_of,
    named,
    pods,
    settings_prefix,
)

from services.common.settings import load_settings

MODULE_PREFIX = {
    "services.tiles": "REZONE_TILES_",
    "services.aggregate": "REZONE_AGGREGATE_",
    "services.report": "REZONE_REPORT_",
    "gateway": "REZONE_GATEWAY_",
}


def _settings_class(module: str) -> type[msgspec.Struct]:
    for candidate in (f"{module}.settings", f"{module}.app"):
        try:
            found = getattr(importlib.import_module(candidate), "Settings", None)
        except ModuleNotFoundError:
            continue
        if found is not None:
            return found
    raise AssertionError(f"no Settings class in {module}.settings or {module}.app")


def _services(objs: list[dict]) -> list[tuple[str, dict, dict, msgspec.Struct]]:
    """(module, deployment, container, loaded settings) for every service Deployment of ours."""
    out = []
    for pod in pods(objs):
        if pod.kind != "Deployment":
            continue
        for c in pod.containers:
            command = c.get("command", [])
            if command[:2] != ["python", "-m"]:
                continue
            module = command[2]
            env = env_of(objs, c)
            prefix = settings_prefix(env)
            assert prefix == MODULE_PREFIX[module], f"{pod.ref} runs {module} with settings prefix {prefix}"
            cls = _settings_class(module)
            fields = {f.name for f in msgspec.structs.fields(cls)}
            unknown = sorted(
                k for k in env if k.startswith(prefix) and k.removeprefix(prefix).lower() not in fields
            )
            assert not unknown, f"{pod.ref}: settings the service does not have: {unknown}"
            for shared in ("DATABASE_URL", "REDIS_URL"):
                if shared in env:
                    assert shared.lower() in fields, f"{pod.ref}: {shared} set but not read by {module}"
            try:
                settings = load_settings(cls, prefix, environ=env)
            except SystemExit as exc:  # load_settings turns a bad value into a boot failure
                pytest.fail(f"{pod.ref}: {exc}")
            out.append((module, pod.workload, c, settings))
    return out


def test_every_service_runs_and_its_settings_parse(objs: list[dict]) -> None:
    modules = {module for module, *_ in _services(objs)}
    assert modules == set(MODULE_PREFIX)


def test_services_listen_on_all_interfaces_on_their_container_port(objs: list[dict]) -> None:
    for module, deployment, container, settings in _services(objs):
        assert settings.host == "0.0.0.0", f"{module} would listen on {settings.host} only"
        ports = [p["containerPort"] for p in container["ports"]]
        # The gateway's /metrics and detailed /readyz live on its internal port, never the public one.
        internal = getattr(settings, "internal_port", 0)
        expected = [settings.port, internal] if internal else [settings.port]
        assert ports == expected, f"{module}: listens on {expected}, container declares {ports}"
        if internal:
            assert getattr(settings, "internal_host", "") == "0.0.0.0", (
                f"{module}: probes reach its internal port"
            )
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/port") == str(internal or settings.port), (
            f"{module}: metrics port annotation"
        )


def test_upstream_urls_name_services_and_ports_of_the_render(objs: list[dict]) -> None:
    services = {
        s["metadata"]["name"]: {p["port"] for p in s["spec"]["ports"]} for s in by_kind(objs, "Service")
    }
    checked = 0
    for module, _, _, settings in _services(objs):
        for field in msgspec.structs.fields(type(settings)):
            value = getattr(settings, field.name)
            if not (field.name.endswith("_url") and isinstance(value, str) and value.startswith("http://")):
                continue
            url = urlsplit(value)
            assert url.hostname in services, f"{module}.{field.name}={value}: no such Service"
            assert url.port in services[url.hostname], (
                f"{module}.{field.name}={value}: Service has no such port"
            )
            checked += 1
    assert checked >= 4  # gateway → tile cache, aggregate, report; report → aggregate


def test_no_session_start_up_parameter_goes_through_pgbouncer(objs: list[dict]) -> None:
    """PgBouncer refuses an unknown start-up parameter such as `role`; the Pooler must not silently drop it
    either (the session would then run with the login role's rights)."""
    pooler = by_kind(objs, "Pooler")[0]
    ignored = pooler["spec"]["pgbouncer"]["parameters"].get("ignore_startup_parameters", "").split(",")
    assert "role" not in ignored and "search_path" not in ignored
    for module, _, container, settings in _services(objs):
        if db_host(env_of(objs, container)) == pooler["metadata"]["name"] and hasattr(settings, "db_role"):
            assert not settings.db_role, f"{module}: db_role={settings.db_role} cannot pass through PgBouncer"


def test_tiles_public_url_is_the_gateway_host(objs: list[dict]) -> None:
    tiles = next(s for m, _, _, s in _services(objs) if m == "services.tiles")
    public = urlsplit(tiles.public_url)
    listeners = [
        li for g in by_kind(objs, "Gateway") for li in g["spec"]["listeners"] if li["protocol"] == "HTTPS"
    ]
    assert public.scheme == "https" and public.hostname in {li.get("hostname") for li in listeners}
    pyramid = [
        m["mountPath"]
        for m in named(objs, "Deployment", "tiles")["spec"]["template"]["spec"]["containers"][0][
            "volumeMounts"
        ]
        if m["name"] == "data"
    ]
    assert pyramid and tiles.pyramid_dir == f"{pyramid[0]}/tiles", "the pyramid is <loader data dir>/tiles"


def test_gateway_public_url_is_the_tiles_one(objs: list[dict]) -> None:
    """The OpenAPI `servers` and the list pages' Link URLs name the same public origin as TileJSON."""
    found = {m: s.public_url for m, _, _, s in _services(objs) if m in ("services.tiles", "gateway")}
    assert found["gateway"] == found["services.tiles"] and found["gateway"].startswith("https://")


def test_report_concurrency_follows_its_cpu_request(objs: list[dict]) -> None:
    module, _, container, settings = next(s for s in _services(objs) if s[0] == "services.report")
    cpu = str(container["resources"]["requests"]["cpu"])
    cores = float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
    assert 1 <= settings.max_parallel_renders <= max(1, math.ceil(cores))


def test_route_timeouts_cover_the_gateway_upstream_timeouts(objs: list[dict]) -> None:
    gateway = next(s for m, _, _, s in _services(objs) if m == "gateway")
    longest = max(gateway.report_timeout_s, gateway.diagnosis_timeout_s, gateway.tiles_timeout_s)
    route = named(objs, "HTTPRoute", "gateway")
    default_rule = [r for r in route["spec"]["rules"] if not r.get("filters")][0]
    request = default_rule["timeouts"]["request"]
    assert request.endswith("s") and float(request[:-1]) > longest, f"route timeout {request} <= {longest}s"


def test_tile_cache_waits_longer_than_the_tiles_statement_timeout(objs: list[dict]) -> None:
    tiles = next(s for m, _, _, s in _services(objs) if m == "services.tiles")
    conf = (DEPLOY / "base" / "config" / "tile-cache.nginx.conf").read_text()
    read_timeout = float(re.search(r"proxy_read_timeout (\d+)s;", conf).group(1))
    assert read_timeout > tiles.statement_timeout_s
    assert re.search(r"server tiles:(\d+);", conf).group(1) == str(tiles.port)


def test_loader_command_line_exists() -> None:
    """The Job and CronJob call `python -m services.ingest load --data-dir /data`: the CLI must accept it."""
    out = subprocess.run(
        [sys.executable, "-m", "services.ingest", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    ).stdout
    assert "load" in out and "--data-dir" in out
    text = (DEPLOY / "db" / "loader.yaml").read_text()
    assert text.count("exec python -m services.ingest load --data-dir /data") == 2
