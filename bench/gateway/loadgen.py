"""A small closed-loop HTTP/1.1 load generator on raw asyncio streams (keep-alive, pre-encoded requests).

Lighter than an HTTP client library, so that on a 2-core machine the generator pinned to one core can keep a
server pinned to the other busy. Latency is measured per request from write to the end of the body.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Result:
    """Latencies in seconds, error count, wall time."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    wall: float = 0.0
    cpu: float = 0.0  # server CPU seconds spent on these requests, when the caller measures it

    def pct(self, p: float) -> float:
        """Percentile p (0–100) in milliseconds."""
        data = sorted(self.latencies)
        if not data:
            return float("nan")
        k = min(len(data) - 1, max(0, round(p / 100 * len(data)) - 1))
        return data[k] * 1000

    @property
    def rps(self) -> float:
        """Requests per second over the wall time."""
        return len(self.latencies) / self.wall if self.wall else 0.0

    def line(self, label: str) -> str:
        """One printable summary line."""
        return (
            f"{label:<44} n={len(self.latencies):>6}  rps={self.rps:>8.0f}  p50={self.pct(50):6.2f} ms  "
            f"p95={self.pct(95):6.2f} ms  p99={self.pct(99):6.2f} ms  errors={self.errors}  "
            f"mean={statistics.fmean(self.latencies) * 1000 if self.latencies else float('nan'):.2f} ms"
        )


def request_bytes(
    method: str, host: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """A complete HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
        lines.append("Content-Type: application/json")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    lower = head.lower()
    i = lower.find(b"\r\ncontent-length:")
    if i >= 0:
        j = lower.index(b"\r\n", i + 2)
        length = int(head[i + 17 : j])
    elif b"transfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
        return status
    if length and status not in (204, 304):
        await reader.readexactly(length)
    return status


async def run(
    host: str, port: int, requests: list[bytes], *, concurrency: int, total: int, max_seconds: float
) -> Result:
    """Send `total` requests (cycling through `requests`) over `concurrency` keep-alive connections."""
    result = Result()
    counter = itertools.count()
    cycle = itertools.cycle(requests)
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while next(counter) < total and time.perf_counter() < deadline:
                req = next(cycle)
                t0 = time.perf_counter()
                writer.write(req)
                try:
                    status = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    result.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                result.latencies.append(time.perf_counter() - t0)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status >= 400:
                    result.errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.wall = time.perf_counter() - started
    return result
