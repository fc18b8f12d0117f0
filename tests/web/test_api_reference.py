"""The interactive API reference (/api/v1/docs, self-hosted Swagger UI) in a real Chromium: it renders every
operation of the served document, runs one for real (« Try it out »), and nothing it loads or calls leaves
the gateway's origin; no console error, no CSP violation under the page's strict policy."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Request, expect

from .browser import api_get, assert_clean

pytestmark = pytest.mark.browser


def test_reference_loads_everything_from_our_origin(open_page, gateway_url, artifacts_dir: Path):
    spec = api_get(gateway_url, "/api/v1/openapi.json")
    operations = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    origin = urlsplit(gateway_url)
    requests: list[str] = []

    def seen(request: Request) -> None:
        requests.append(request.url)

    page = open_page("about:blank")
    page.on("request", seen)
    page.goto(f"{gateway_url}/api/v1/docs")
    expect(page.locator(".opblock")).to_have_count(len(operations), timeout=30_000)
    for operation_id in ("listCpts", "listDepartementCommunes", "getDiagnosis", "postReportPdf"):
        expect(page.locator(".opblock-summary-operation-id", has_text=operation_id)).to_have_count(1)
    expect(page.locator(".servers select")).to_have_value(spec["servers"][0]["url"])
    page.screenshot(path=str(artifacts_dir / "api-reference-top.png"))

    # Try one operation for real: the request goes to `servers` (the configured public origin, ours).
    block = page.locator("#operations-listes-listCpts")
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    block.locator("tr[data-param-name='limit'] input").fill("3")
    block.get_by_role("button", name="Execute").click()
    expect(block.locator(".live-responses-table tbody .response-col_status").first).to_have_text(
        "200", timeout=15_000
    )
    expect(block.locator(".live-responses-table .highlight-code")).to_contain_text('"next_cursor"')
    page.screenshot(path=str(artifacts_dir / "api-reference-try.png"))

    assert any(u.endswith("/api/v1/openapi.json") for u in requests)
    # The examples of the document fill the form: Corsica's CPTS that signed the ACI, three per page.
    assert any("/api/v1/cpts?departement=2A" in u and "limit=3" in u for u in requests), "\n".join(requests)
    foreign = [
        u for u in requests if urlsplit(u).netloc != origin.netloc and not u.startswith(("data:", "blob:"))
    ]
    assert foreign == [], f"requests leaving {origin.netloc}: {foreign}"
    assert_clean(page)
