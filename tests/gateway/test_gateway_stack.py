"""The gateway in front of the real tiles, aggregate and report services (real processes, real PostGIS)."""

from __future__ import annotations

import asyncio
import gzip
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from deploy.local.cluster import free_port
from services.common.contract import DIAGNOSIS, SUMMARY

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def stack(run_service) -> str:
    gateway_port = free_port()
    # In the stack the gateway is the public entry: TileJSON and style URLs name its origin.
    tiles = run_service("services.tiles", {"REZONE_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}"})
    aggregate = run_service("services.aggregate")
    report = run_service("services.report", {"REZONE_REPORT_AGGREGATE_URL": aggregate})
    from tests.gateway.conftest import BASE_ENV

    return run_service(
        "gateway",
        {
            **BASE_ENV,
            "REZONE_GATEWAY_PORT": str(gateway_port),
            "REZONE_GATEWAY_TILES_URL": tiles,
            "REZONE_GATEWAY_AGGREGATE_URL": aggregate,
            "REZONE_GATEWAY_REPORT_URL": report,
        },
    )


SELECTION = ["13001", "13071", "13041"]  # Aix-en-Provence, Le Puy-Sainte-Réparade, Gardanne


async def test_readyz_checks_every_upstream(http, stack):
    async with http.get(f"{stack}/readyz") as r:
        assert r.status == 200


async def test_diagnosis_and_summary_through_the_cache(http, stack):
    url = f"{stack}/api/v1/territory?communes={','.join(SELECTION).lower()}"
    async with http.get(url, headers={"Accept-Encoding": "identity"}) as r:
        assert r.status == 200 and r.headers["X-Cache"] == "MISS", await r.text()
        first = await r.read()
    diagnosis = DIAGNOSIS.decode(first)  # exactly the shared contract
    assert sorted(c.code for c in diagnosis.communes) == sorted(SELECTION)
    assert diagnosis.demo is True
    async with http.post(
        f"{stack}/api/v1/territory",
        json={"communes": SELECTION[::-1]},
        headers={"Accept-Encoding": "identity"},
    ) as r:
        assert r.headers["X-Cache"] == "HIT" and await r.read() == first
        plain_etag = r.headers["ETag"]
    # Browsers get the variant compressed once when the entry was filled, with its own validator.
    async with http.get(url, headers={"Accept-Encoding": "gzip, br"}) as r:
        assert r.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in r.headers["Vary"]
        packed, gz_etag = await r.read(), r.headers["ETag"]
    assert gzip.decompress(packed) == first and len(packed) < len(first) / 3 and gz_etag != plain_etag
    async with http.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": gz_etag}) as r:
        assert r.status == 304
    async with http.get(
        f"{stack}/api/v1/territory/summary?communes={','.join(SELECTION)}",
        headers={"Accept-Encoding": "identity"},
    ) as r:
        summary = SUMMARY.decode(await r.read())
    assert summary.commune_count == 3 and summary.population > 100_000


async def test_ald_option_reaches_the_aggregate(http, stack):
    async with http.get(
        f"{stack}/api/v1/territory?communes={SELECTION[0]}&ald=ald_08",
        headers={"Accept-Encoding": "identity"},
    ) as r:
        assert r.status == 200
        diagnosis = DIAGNOSIS.decode(await r.read())
    shown = (
        {i.id for i in diagnosis.prevalences.detailed} if hasattr(diagnosis.prevalences, "detailed") else None
    )
    assert shown is None or "ald_08" in shown


async def test_exports_and_project_round_trip(http, stack):
    async with http.get(
        f"{stack}/api/v1/export.csv?communes={','.join(SELECTION)}", headers={"Accept-Encoding": "identity"}
    ) as r:
        assert r.status == 200 and r.content_type == "text/csv"
        assert "13001" in (await r.read()).decode("utf-8-sig")
    async with http.post(
        f"{stack}/api/v1/project", json={"communes": SELECTION, "name": "CPTS du Pays d'Aix"}
    ) as r:
        assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
        project = await r.read()
    async with http.post(
        f"{stack}/api/v1/project/import", data=project, headers={"Content-Type": "text/plain"}
    ) as r:
        assert r.status == 200, await r.text()
        restored = msgspec.json.decode(await r.read())
    assert sorted(restored["communes"]) == sorted(SELECTION) or sorted(
        c["code"] if isinstance(c, dict) else c for c in restored["communes"]
    ) == sorted(SELECTION)


async def test_report_pdf(http, stack):
    async with http.post(
        f"{stack}/api/v1/report.pdf", json={"communes": SELECTION[:1], "name": "Essai"}
    ) as r:
        assert r.status == 200 and r.content_type == "application/pdf", await r.text()
        assert (await r.read()).startswith(b"%PDF-")
        assert r.headers["X-Cache"] == "MISS"


async def test_tiles_and_style_through_the_gateway(http, stack):
    async with http.get(f"{stack}/tiles/communes.json") as r:
        assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
        tilejson = await r.json()
    assert tilejson["tiles"][0].startswith(stack)  # URLs point at the public entry, not the tiles service
    async with http.get(f"{stack}/tiles/admin/5/16/11.mvt", headers={"Accept-Encoding": "gzip"}) as r:
        assert r.status in (200, 204)
        if r.status == 200:
            assert r.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
            etag = r.headers["ETag"]
            await r.read()
            async with http.get(f"{stack}/tiles/admin/5/16/11.mvt", headers={"If-None-Match": etag}) as again:
                assert again.status == 304
    async with http.get(f"{stack}/styles/rezone.json") as r:
        assert r.status == 200 and (await r.json())["version"] == 8


async def test_aggregate_refusal_relayed_as_problem(http, stack):
    # 2A004 is valid everywhere; an ALD id unknown to the gateway never reaches the aggregate.
    async with http.get(f"{stack}/api/v1/territory?communes=2A004&ald=ald_99") as r:
        assert r.status == 422 and (await r.json(content_type=None))["code"] == "unknown_indicator"


async def test_openapi_matches_the_real_answers(stack, artifacts_dir):
    """The documented examples against the real services: statuses, content types and response schemas."""
    st = Path(sys.executable).with_name("st")
    proc = await asyncio.to_thread(
        subprocess.run,
        [
            str(st),
            "run",
            f"{stack}/api/v1/openapi.json",
            "--phases",
            "examples",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--request-timeout",
            "30",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    (artifacts_dir / "schemathesis-gateway-stack.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-6000:]
