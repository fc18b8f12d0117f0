"""Helpers of the fault suite: background traffic with counted statuses, waits, table fingerprints."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable

import asyncpg


class Traffic:
    """Background clients sending `requests()` in a loop; statuses counted, latencies kept."""

    def __init__(self, requests: Callable[[], list[urllib.request.Request]], workers: int = 4) -> None:
        self.requests, self.workers = requests, workers
        self.statuses: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.missing_retry_after = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _run(self) -> None:
        while not self._stop.is_set():
            for req in self.requests():
                started = time.perf_counter()
                status = _status_of(req, self)
                self.latencies.append(time.perf_counter() - started)
                self.statuses[status] += 1
                if self._stop.is_set():
                    return

    def __enter__(self) -> Traffic:
        for _ in range(self.workers):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def failures(self, allowed: frozenset[str] = frozenset({"200"})) -> dict[str, int]:
        """Statuses other than the allowed ones."""
        return {k: v for k, v in self.statuses.items() if k not in allowed}

    def p(self, q: float) -> float:
        """Latency percentile, in ms."""
        data = sorted(self.latencies)
        return round(1000 * data[min(len(data) - 1, int(q * len(data)))], 1) if data else 0.0


def _status_of(req: urllib.request.Request, traffic: Traffic) -> str:
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            return str(resp.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        if exc.code == 503 and not exc.headers.get("Retry-After"):
            traffic.missing_retry_after += 1
        return str(exc.code)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        return f"error:{type(getattr(exc, 'reason', exc)).__name__}"


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.1) -> float:
    """Seconds until `check()` holds (raises after `timeout`)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(step)
    raise AssertionError(f"not reached within {timeout}s")


def ready(url: str) -> bool:
    """/readyz answers 200."""
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


async def table_fingerprints(dsn: str) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum of every table and materialised view of the schemas the
    load writes (ref, health, stats, tiles)."""
    conn = await asyncpg.connect(dsn)
    try:
        rels = await conn.fetch(
            """
            SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('ref', 'health', 'stats', 'tiles') AND c.relkind IN ('r', 'm')
            ORDER BY 1"""
        )
        out = {}
        for r in rels:
            row = await conn.fetchrow(
                f"SELECT count(*) AS n, coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint"
                f"::numeric), 0)::text AS h FROM {r['name']} t"
            )
            out[r["name"]] = (row["n"], row["h"])
        return out
    finally:
        await conn.close()
