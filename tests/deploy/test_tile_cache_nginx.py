"""The tile cache's nginx.conf, as shipped in its ConfigMap, run by Debian's nginx before a real tiles origin.

Only listen address, upstream address and writable paths are rewritten for loopback; each rewrite must match
exactly, so the configuration under test cannot drift from the one deployed (operations.md §6.3 item 17).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from deploy_checks import DEPLOY
from prometheus_client.parser import text_string_to_metric_families

from deploy.local.cluster import free_port

CONF = DEPLOY / "base" / "config" / "tile-cache.nginx.conf"
# A z10 tile over Paris: above the pre-built pyramid, so the origin builds it from PostGIS.
TILE = "/tiles/communes/10/518/352.mvt"
OTHER_TILE = "/tiles/communes/10/519/352.mvt"
COLD_TILE = "/tiles/communes/10/518/353.mvt"


def _rewrite(text: str, old: str, new: str, count: int = 1) -> str:
    found = text.count(old)
    assert found == count, f"{old!r} appears {found} times in {CONF.name}, expected {count}"
    return text.replace(old, new)


def loopback_conf(workdir: Path, port: int, origin_port: int) -> Path:
    """The shipped configuration with loopback addresses and paths under `workdir`."""
    text = CONF.read_text()
    text = _rewrite(text, "worker_processes auto;", "worker_processes 1;")
    text = _rewrite(text, "pid /tmp/nginx.pid;", f"pid {workdir}/nginx.pid;")
    text = _rewrite(text, "error_log /dev/stderr warn;", f"error_log {workdir}/error.log warn;")
    text = _rewrite(text, "access_log /dev/stdout json;", f"access_log {workdir}/access.log json;")
    text, temp_paths = re.subn(r"(_temp_path\s+)/tmp/", rf"\g<1>{workdir}/", text)
    assert temp_paths == 5, f"{temp_paths} temp paths in {CONF.name}, expected 5"
    text = _rewrite(text, "/var/cache/nginx/tiles", f"{workdir}/cache/tiles")
    text = _rewrite(text, "server tiles:8081;", f"server 127.0.0.1:{origin_port};")
    text = _rewrite(text, "listen 8080;", f"listen 127.0.0.1:{port};")
    directives = "\n".join(line.split("#")[0] for line in text.splitlines())
    leftover = directives.replace(str(workdir), "")
    assert "/tmp/" not in leftover and "/var/" not in leftover and "/dev/" not in leftover
    # In the pod, /var/cache/nginx is the mount point of an emptyDir: it exists, nginx creates `tiles` in it.
    (workdir / "cache").mkdir(exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(text)
    return conf


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    assert found, "Debian's nginx is needed (scripts/bootstrap.sh test installs nginx-light)"
    return found


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _origin_tile_requests(origin: str) -> float:
    """Tile requests the origin has answered, from its own Prometheus counter."""
    with urllib.request.urlopen(origin + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "http_requests_total" and ".mvt" in sample.labels.get("route", ""):
                total += sample.value
    return total


@pytest.fixture(scope="module")
def origin(run_service) -> str:
    """A tiles service of this module's own (stopped by the outage test)."""
    return run_service("services.tiles", {"REZONE_TILES_LOG_LEVEL": "WARNING", "REZONE_TILES_CACHE_MB": "16"})


@pytest.fixture(scope="module")
def cache(origin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Base URL of nginx running the shipped configuration, and its work directory."""
    workdir = tmp_path_factory.mktemp("tile-cache")
    port = free_port()
    conf = loopback_conf(workdir, port, int(origin.rsplit(":", 1)[1]))
    globals_ = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    test = subprocess.run(
        [_nginx(), "-t", "-p", str(workdir), "-c", str(conf), "-g", globals_],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert test.returncode == 0, test.stderr
    proc = subprocess.Popen(
        [_nginx(), "-p", str(workdir), "-c", str(conf), "-g", globals_],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            if _get(base + "/livez")[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"nginx did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.05)
    yield base, workdir
    proc.terminate()  # SIGTERM: fast shutdown; the pod uses nginx's SIGQUIT graceful stop
    proc.wait(timeout=10)


async def _burst(url: str, n: int) -> list[tuple[int, bytes]]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:

        async def one() -> tuple[int, bytes]:
            async with session.get(url, headers={"Accept-Encoding": "gzip"}) as resp:
                return resp.status, await resp.read()

        return await asyncio.gather(*(one() for _ in range(n)))


def test_100_concurrent_requests_for_a_cold_tile_make_one_origin_request(cache, origin) -> None:
    base, _ = cache
    before = _origin_tile_requests(origin)
    results = asyncio.run(_burst(base + TILE, 100))
    assert {status for status, _ in results} == {200}
    assert len({body for _, body in results}) == 1 and results[0][1]
    assert _origin_tile_requests(origin) - before == 1


def test_cache_key_is_the_path_and_version_only(cache, origin) -> None:
    base, _ = cache
    status, headers, _ = _get(base + OTHER_TILE)
    assert status == 200 and headers["X-Cache-Status"] == "MISS"
    before = _origin_tile_requests(origin)
    for variant in ("?utm=1", "?foo=bar&baz=2", "?v=not a version!"):
        status, headers, _ = _get(base + OTHER_TILE + variant.replace(" ", "%20"), Host="elsewhere.example")
        assert status == 200 and headers["X-Cache-Status"] == "HIT", variant
    assert _origin_tile_requests(origin) == before, "a query string or Host header reached the origin"
    # The tile version is part of the key, and its immutable Cache-Control comes through.
    _, _, tilejson = _get(base + "/tiles/communes.json")
    version = re.search(r"[?&]v=([0-9A-Za-z._-]+)", json.loads(tilejson)["tiles"][0]).group(1)
    status, headers, _ = _get(f"{base}{OTHER_TILE}?v={version}")
    assert status == 200 and headers["X-Cache-Status"] == "MISS"
    assert "immutable" in headers["Cache-Control"] and "max-age=31536000" in headers["Cache-Control"]
    assert _get(f"{base}{OTHER_TILE}?v={version}")[1]["X-Cache-Status"] == "HIT"


def test_only_tiles_and_styles_by_get(cache) -> None:
    base, _ = cache
    assert _get(base + "/api/v1/communes")[0] == 404
    assert _get(base + "/metrics")[0] == 404
    request = urllib.request.Request(base + TILE, data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403


def test_access_log_is_json_with_the_callers_request_id(cache) -> None:
    base, workdir = cache
    # Another browser's Accept-Encoding than the burst's: same gzip variant, so a hit.
    _get(base + TILE, **{"X-Request-ID": "deploy-test-rid-1", "Accept-Encoding": "gzip, deflate, br, zstd"})
    time.sleep(0.2)
    lines = [json.loads(line) for line in (workdir / "access.log").read_text().splitlines()]
    mine = [entry for entry in lines if entry["request_id"] == "deploy-test-rid-1"]
    assert mine and mine[-1]["cache"] == "HIT" and mine[-1]["path"] == TILE and mine[-1]["status"] == 200


def test_origin_outage_cached_tiles_still_served(cache, origin, run_service) -> None:
    base, _ = cache
    _get(base + TILE)
    run_service.stop(origin)
    status, headers, body = _get(base + TILE)
    assert status == 200 and body and headers["X-Cache-Status"] in {"HIT", "STALE"}
    started = time.monotonic()
    status, _, _ = _get(base + COLD_TILE)
    assert status in (502, 504) and time.monotonic() - started < 3
    # The cache stays in the Service during the outage: its probes do not depend on the origin.
    assert _get(base + "/readyz")[0] == 200 and _get(base + "/livez")[0] == 200
