"""Helpers of the browser tests: page hygiene checks and API reads to compare with what the page shows."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

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


AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"


def _inject_axe(page: Page) -> None:
    """axe-core goes in through the DevTools protocol (`evaluate`), which the page's CSP does not restrict."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")


# The WCAG rules every whole-page check runs; None runs axe-core's default set (WCAG and best practices).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def assert_accessible(
    page: Page,
    step: str,
    artifacts: Path | None = None,
    *,
    include: list[str] | None = None,
    tags: list[str] | None = AXE_TAGS,
) -> list[dict]:
    """axe-core (npm axe-core) on the page as it is now, or inside the `include` selectors: no serious or
    critical violation; returns the lesser ones, also written to `artifacts/axe-<step>.json` when given."""
    _inject_axe(page)
    result = page.evaluate(
        "([include, tags]) => axe.run(include ? {include: include.map((s) => [s])} : document,"
        " tags ? {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']}"
        " : {resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))",
        [include, tags],
    )
    if artifacts is not None:
        artifacts.mkdir(parents=True, exist_ok=True)
        (artifacts / f"axe-{step}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    grave = [v for v in result if v["impact"] in ("serious", "critical")]
    assert grave == [], f"{step}: {json.dumps(grave, ensure_ascii=False, indent=1)}"
    return result
