"""The tile cache's nginx.conf, as shipped in its ConfigMap, run by Debian's nginx before a real tiles origin.

Only listen address, upstream address and writable paths are rewritten for loopback; each rewrite must match
exactly, so the configuration under test cannot drift from the one deployed (operations.md §6.3 item 17).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy.local import tile_cache
from deploy.local.cluster import free_port

# A z10 tile over Paris: above the pre-built pyramid, so the origin builds it from PostGIS.
TILE = "/tiles/communes/10/518/352.mvt"
OTHER_TILE = "/tiles/communes/10/519/352.mvt"
COLD_TILE = "/tiles/communes/10/518/353.mvt"


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
    proc = tile_cache.start(workdir, port, int(origin.rsplit(":", 1)[1]))
    base = f"http://127.0.0.1:{port}"
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


def test_access_log_is_json_with_the_callers_request_id_and_samples_hits(cache) -> None:
    base, workdir = cache
    # An origin trip (cold tile) is always logged, with the caller's request id.
    _get(base + OTHER_TILE.replace("519", "517"), **{"X-Request-ID": "deploy-test-rid-1"})
    # Hits (another browser's Accept-Encoding than the burst's: same gzip variant) are sampled at 1 %.
    for i in range(300):
        _get(
            base + TILE,
            **{"X-Request-ID": f"deploy-test-hit-{i}", "Accept-Encoding": "gzip, deflate, br, zstd"},
        )
    time.sleep(0.2)
    lines = [json.loads(line) for line in (workdir / "access.log").read_text().splitlines()]
    mine = [entry for entry in lines if entry["request_id"] == "deploy-test-rid-1"]
    assert mine and mine[-1]["cache"] == "MISS" and mine[-1]["status"] == 200
    hits = [e for e in lines if e["request_id"].startswith("deploy-test-hit-")]
    assert all(e["cache"] == "HIT" and e["path"] == TILE for e in hits)
    assert len(hits) <= 15, f"{len(hits)} of 300 hits logged: sampling at 1 % expected"


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
