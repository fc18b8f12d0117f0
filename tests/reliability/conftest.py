"""The fault suite (`make reliability`): long, loopback-only tests that break things on purpose, and measure.

Skipped unless REZONE_RELIABILITY=1 (the Makefile target sets it), so `make test` stays fast. Each test
records its figures with `record(name, **figures)`; they are written to tests/artifacts/reliability.json,
from which the table of docs/reliability.md is copied.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import _fingerprint, clone, drop, with_db

RESULTS = Path(__file__).resolve().parents[1] / "artifacts" / "reliability.json"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("REZONE_RELIABILITY") == "1":
        return
    skip = pytest.mark.skip(reason="fault suite: run with `make reliability`")
    for item in items:
        if "tests/reliability/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def record() -> Iterator[Callable[..., None]]:
    """`record(name, **figures)`: keep a measured figure for docs/reliability.md."""

    def put(name: str, **figures: object) -> None:
        # Re-read: another session (or a partial re-run) may have written its figures meanwhile.
        results: dict[str, dict] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        results[name] = {**figures, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False))

    yield put


@pytest.fixture
def scratch_db(database_url: str, pg_admin_url: str) -> Iterator[str]:
    """A database of our own, cloned from the loaded template (the session database is never broken)."""
    name = f"fault_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(clone(pg_admin_url, f"tpl_{_fingerprint()}", name))
    try:
        yield with_db(pg_admin_url, name)
    finally:
        asyncio.run(drop(pg_admin_url, name))
