"""`/api/v1/meta`: the loaded sources, the demo flag and the limits, as the database and the settings say."""

from __future__ import annotations

import asyncpg
import pytest

from tests.gateway.test_gateway_stack import stack  # noqa: F401 (the same processes, reused)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _rows(database_url: str) -> tuple[str, list[dict]]:
    conn = await asyncpg.connect(database_url)
    try:
        version = await conn.fetchval("SELECT ref.data_version()")
        rows = await conn.fetch("SELECT source, label, block, vintage, is_demo FROM ref.data_sources")
        return version, [dict(r) for r in rows]
    finally:
        await conn.close()


async def test_meta_says_what_is_loaded(http, gateway, database_url):
    version, rows = await _rows(database_url)
    async with http.get(f"{gateway}/api/v1/meta") as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("application/json")
        body = await r.json()
    assert body["data_version"] == version
    assert body["limits"] == {"max_communes": 100}
    # The demo dataset is loaded with the reference: the page must say "données de démonstration" at once.
    assert any(row["is_demo"] for row in rows) and not all(row["is_demo"] for row in rows)
    assert body["demo"] is True
    assert sorted(body["sources"], key=lambda s: s["source"]) == sorted(rows, key=lambda s: s["source"])
    order = [(s["block"], s["source"]) for s in body["sources"]]
    assert order == sorted(order) and len(order) == len(rows) > 1


async def test_meta_matches_the_diagnosis(http, stack):  # noqa: F811 (the fixture imported above)
    """Same flag and sources, in the same order, as a real diagnosis: the page swaps one for the other."""
    async with http.get(f"{stack}/api/v1/meta") as r:
        meta = await r.json()
    # A selection of its own: the stack tests expect a cold cache for theirs.
    url = f"{stack}/api/v1/territory?communes=84007,84031"
    async with http.get(url, headers={"Accept-Encoding": "identity"}) as r:
        assert r.status == 200, await r.text()
        diagnosis = await r.json()
    assert (meta["data_version"], meta["demo"], meta["sources"]) == (
        diagnosis["data_version"],
        diagnosis["demo"],
        diagnosis["sources"],
    )


async def test_meta_etag_and_revalidation(http, gateway):
    async with http.get(f"{gateway}/api/v1/meta") as r:
        etag, cache_control, body = r.headers["ETag"], r.headers["Cache-Control"], await r.read()
    assert cache_control == "public, max-age=300" and "X-Cache" not in r.headers
    async with http.get(f"{gateway}/api/v1/meta", headers={"If-None-Match": etag}) as r:
        assert r.status == 304 and r.headers["ETag"] == etag and await r.read() == b""
    async with http.get(f"{gateway}/api/v1/meta", headers={"If-None-Match": '"other"'}) as r:
        assert r.status == 200 and await r.read() == body


async def test_meta_refuses_unknown_parameters(http, gateway):
    async with http.get(f"{gateway}/api/v1/meta", params={"communes": "04121"}) as r:
        assert r.status == 400 and r.headers["Content-Type"].startswith("application/problem+json")
        assert (await r.json())["code"] == "unknown_parameter"
