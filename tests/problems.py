"""What every error answer of ours is: problem+json with the expected status and stable `code`."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse

PROBLEM = "application/problem+json"


async def assert_problem(resp: ClientResponse, status: int, code: str, what: object = "") -> dict[str, Any]:
    """Check status, content type and `code` of an error answer; returns its document (title, detail…)."""
    doc: dict[str, Any] = await resp.json(content_type=None) if resp.method != "HEAD" else {}
    assert (resp.status, resp.content_type) == (status, PROBLEM), (what, resp.status, resp.content_type, doc)
    if resp.method != "HEAD":
        assert doc.get("code") == code and doc.get("status", status) == status, (what, doc)
    return doc
