"""Security headers, CSP of the page, frame-ancestors from the settings, CORS allow-list on the API."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

import pytest

from tests.problems import assert_problem

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_page_headers(http, gateway):
    async with http.get(f"{gateway}/") as r:
        assert r.status == 200 and r.content_type == "text/html"
        csp = r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert r.headers["Cache-Control"] == "no-cache"
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["worker-src"] == "'self' blob:"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data: blob:"
    assert directives["connect-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'self' https://portail.example"  # from the settings


async def test_errors_carry_the_headers_too(http, gateway):
    async with http.get(f"{gateway}/api/v1/territory?communes=xx") as r:
        assert r.status == 400 and (await r.json(content_type=None))["code"] == "invalid_commune_code"
        assert r.headers["X-Content-Type-Options"] == "nosniff" and "Content-Security-Policy" in r.headers


async def test_cors_allow_list_on_api(http, gateway):
    url = f"{gateway}/api/v1/communes?q=nantes"
    async with http.get(url, headers={"Origin": "https://portail.example"}) as r:
        assert r.headers["Access-Control-Allow-Origin"] == "https://portail.example"
        assert "Origin" in r.headers["Vary"]
        assert "ETag" in r.headers["Access-Control-Expose-Headers"]
    async with http.get(url, headers={"Origin": "https://evil.example"}) as r:
        assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers
    async with http.options(
        f"{gateway}/api/v1/territory",
        headers={
            "Origin": "https://portail.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    ) as r:
        assert r.status == 204
        assert r.headers["Access-Control-Allow-Origin"] == "https://portail.example"
        assert "POST" in r.headers["Access-Control-Allow-Methods"]
        assert "Content-Type" in r.headers["Access-Control-Allow-Headers"]


async def test_static_files_are_confined(http, gateway):
    for path in ("/../pyproject.toml", "/%2e%2e/pyproject.toml", "/.gitignore", "/nothing-here.js"):
        async with http.get(f"{gateway}{path}") as r:
            doc = await assert_problem(r, 404, "not_found", path)
            assert str(ROOT) not in str(doc), doc  # no file-system path in the answer
    # The boundary: files of web/ itself are served, next to the ones refused above.
    for path, kind in (("/js/legend.js", "javascript"), ("/index.html", "text/html")):
        async with http.get(f"{gateway}{path}") as r:
            assert r.status == 200 and kind in r.content_type, (path, r.status, r.content_type)


async def test_api_docs_page_has_no_external_resource(http, gateway):
    """/api/v1/docs is the self-hosted Swagger UI page: every file it names is ours, served from this origin
    (tests/web/test_api_reference.py loads it in Chromium and watches every request)."""
    async with http.get(f"{gateway}/api/v1/docs") as r:
        html = await r.text()
        assert r.status == 200 and r.content_type == "text/html"
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "node_modules/swagger-ui-dist/swagger-ui-bundle.js" in refs and "/api/v1/openapi.json" in refs
    assert not [ref for ref in refs if "//" in ref or ref.startswith(("http", "data:"))]
    for ref in refs:  # relative to <base href="/">
        async with http.get(urljoin(f"{gateway}/", ref)) as r:
            assert r.status == 200, ref
