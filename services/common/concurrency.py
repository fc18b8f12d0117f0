"""Concurrency limits every service shares: single-flight (one computation per key) and in-flight caps.

Both exist so that a burst costs a bounded amount of work: identical concurrent misses make one upstream call
or one query (`SingleFlight`), and past a cap a request is refused at once with 503 + Retry-After rather than
queued without bound (`InflightCap`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable, Iterator
from typing import Generic, TypeVar

from .errors import ServiceError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """Runs one coroutine per key at a time; callers arriving meanwhile await the same result.

    The shared task is shielded: a client that goes away (handler cancellation) does not cancel the work the
    other callers wait for.
    """

    def __init__(self) -> None:
        self._running: dict[K, asyncio.Future[V]] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def run(self, key: K, make: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """Result of `make()` for `key`, and whether this caller joined a call already running."""
        running = self._running.get(key)
        if running is not None:
            return await asyncio.shield(running), True
        task: asyncio.Future[V] = asyncio.ensure_future(make())
        self._running[key] = task
        task.add_done_callback(lambda done: self._done(key, done))
        return await asyncio.shield(task), False

    def _done(self, key: K, task: asyncio.Future[V]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved here, so an error nobody awaits any more is not logged as lost


class InflightCap:
    """Counts work in flight, in units (a request's database connections, say); past `cap`, `acquire`
    raises what `refuse()` makes (a 503 with Retry-After).

    Synchronous on purpose: the check and the increment cannot be separated by another task.
    """

    def __init__(self, cap: int, refuse: Callable[[], ServiceError]) -> None:
        self.cap, self.refuse = cap, refuse
        self.in_flight = 0

    def acquire(self, units: int = 1) -> None:
        """Take `units` places, or raise at once; work larger than the cap still runs when alone."""
        units = min(units, self.cap)
        if self.in_flight + units > self.cap:
            raise self.refuse()
        self.in_flight += units

    def release(self, units: int = 1) -> None:
        """Give the places back."""
        self.in_flight -= min(units, self.cap)

    @contextlib.contextmanager
    def hold(self, units: int) -> Iterator[None]:
        """`units` places for the duration of the block."""
        self.acquire(units)
        try:
            yield
        finally:
            self.release(units)

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
