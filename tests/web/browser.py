"""Helpers of the browser tests: page hygiene checks and API reads to compare with what the page shows."""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import Page


def assert_clean(page: Page) -> None:
    """No console error, no uncaught exception, no CSP violation in this page."""
    violations = page.evaluate("window.__cspViolations")
    errors = page.rezone_log.errors  # type: ignore[attr-defined]
    assert violations == [], f"CSP violations: {violations}"
    assert errors == [], f"console errors: {errors}"


def api_get(base: str, path: str) -> dict:
    """A JSON GET against the gateway (to compare what the page shows with what the API says)."""
    with urllib.request.urlopen(base + path, timeout=30) as resp:
        return json.loads(resp.read())
