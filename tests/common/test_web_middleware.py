"""The shared middleware: problem+json for every error, request ids, metrics by route template."""

from __future__ import annotations

import pytest
from aiohttp import web

from services.common.errors import Unprocessable
from services.common.settings import ServiceSettings
from services.common.web import base_app
from tests.problems import assert_problem

# aiohttp_client is a session-loop fixture (asyncio_default_fixture_loop_scope): run the tests on that loop.
pytestmark = pytest.mark.asyncio(loop_scope="session")


def make_app() -> web.Application:
    app = base_app("test", ServiceSettings(database_url=""))

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail that must not leak")

    async def refused(request: web.Request) -> web.Response:
        raise Unprocessable("trop de communes", limit=100, count=101)

    app.router.add_get("/boom", boom)
    app.router.add_get("/refused", refused)
    app.router.add_get("/items/{id}", lambda r: web.Response(text=r.match_info["id"]))
    return app


async def test_method_not_allowed_keeps_allow(aiohttp_client) -> None:
    client = await aiohttp_client(make_app())
    resp = await client.post("/items/1")
    doc = await assert_problem(resp, 405, "method_not_allowed")
    assert doc["title"] and doc["detail"]
    assert set(resp.headers["Allow"].split(",")) == {"GET", "HEAD"}
    # The boundary: the methods Allow names are answered on the same path; an unknown path is a 404 problem.
    assert (await client.get("/items/1")).status == 200 and (await client.head("/items/1")).status == 200
    await assert_problem(await client.post("/nowhere"), 404, "not_found")


async def test_unhandled_error_is_a_generic_problem(aiohttp_client) -> None:
    client = await aiohttp_client(make_app())
    resp = await client.get("/boom")
    body = await resp.text()
    assert resp.status == 500 and "secret detail" not in body
    assert (await resp.json())["code"] == "internal_error"


async def test_domain_error_carries_code_and_extra_fields(aiohttp_client) -> None:
    client = await aiohttp_client(make_app())
    resp = await client.get("/refused", headers={"X-Request-ID": "abc123"})
    doc = await resp.json()
    assert resp.status == 422 and doc["code"] == "unprocessable" and doc["count"] == 101
    assert resp.headers["X-Request-ID"] == "abc123"


async def test_metrics_label_routes_by_template(aiohttp_client) -> None:
    client = await aiohttp_client(make_app())
    for i in range(3):
        assert (await client.get(f"/items/{i}")).status == 200
    text = await (await client.get("/metrics")).text()
    assert 'route="/items/{id}"' in text and 'route="/items/1"' not in text
