"""Open-loop HTTP/1.1 load: requests leave on a fixed schedule, latency counts from the scheduled send time.

A closed-loop generator (N clients, each waiting for its answer before the next request) slows down with the
server and so never sees the queue it would have built: coordinated omission. Here the schedule is fixed
in advance (`rate` requests a second, evenly spaced); a request whose time has come goes out on an idle
keep-alive connection, or on a new one (up to `max_conns`), and if it has to wait for one, the wait is part
of its latency.

Clients are many: each request belongs to a client drawn from a population of loopback source addresses
(127.0.x.y), and goes out only on an idle connection of that client, or on a new one bound to its address.
The gateway's per-client rate limit and nginx's per-address connection limit so see a population of users,
each with its own few keep-alive connections, as they would in production. (Reusing any idle connection
for any request would let a handful of early connections carry the whole API traffic, and one address
would exceed a user's quota: 429s that measure the generator, not the server.) Loopback only; every run is
bounded by its schedule plus the request timeout, and the caller bounds the schedule (≤ 60 s a step).

A keep-alive connection the server closed while idle (nginx closes its idle connections when it reloads or
stops a worker, a service when its idle timeout runs out) may be the one a request is written to at that very
moment: the request gets no byte of answer. Browsers and HTTP libraries resend such a request once on a new
connection (RFC 9112 §9.3.1; Chromium and Firefox whatever the method, Go's net/http for replayable ones), and
so does this generator, for every request of the mix (each computes from its URL or body and writes nothing
on the server; `POST` only carries a long selection). A resend is counted (column 5), its latency still runs
from the scheduled time, and a request that fails on a new connection, or after some bytes of an answer, is
a loss.

Several generator processes share the schedule (event i goes to process i mod P): one asyncio loop cannot send
2,000+ requests a second and read the answers on top of a server on the same two cores.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import random
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

# Answers that are not errors: 204 is an empty tile (sea), 304 a revalidated one.
OK = (200, 204, 304)
CACHE_CODES = {b"": 0, b"HIT": 1, b"MISS": 2, b"EXPIRED": 3, b"STALE": 4, b"UPDATING": 5, b"REVALIDATED": 6}
CACHE_NAMES = {v: k.decode() or "-" for k, v in CACHE_CODES.items()}
# Status recorded for a request that got no HTTP answer (connection refused/reset, timeout).
NO_ANSWER = 0
# Idle keep-alive connections kept per client: a browser keeps about six per origin, a user of the map
# rarely has more than two requests in flight; extra idle ones are closed, so open sockets stay bounded.
IDLE_PER_CLIENT = 2
# Columns of a result row.
COLUMNS = ("scheduled_s", "latency_s", "status", "cache", "request", "resent")


class ClosedBeforeAnswer(ConnectionError):
    """The connection ended before the first byte of the status line."""


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True)
class Request:
    """One pre-encoded request and the class it is reported under."""

    kind: str
    data: bytes
    timeout_s: float = 10.0


@dataclass(frozen=True)
class Plan:
    """The schedule of one step: event i is sent at `times[i]` seconds and carries request `index[i]`."""

    times: np.ndarray  # float64, seconds from the step start
    index: np.ndarray  # int32 into the request list


def source_addresses(count: int) -> list[str]:
    """Loopback addresses standing for distinct clients (127.0.1.1 …)."""
    return [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(count)]


async def _read(reader: asyncio.StreamReader) -> tuple[int, int, bool]:
    """Status, cache code (X-Cache-Status, else X-Cache) and whether the server keeps the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise ClosedBeforeAnswer from exc
        raise
    except ConnectionResetError as exc:  # an idle socket closed with our request unread: reset, no answer
        raise ClosedBeforeAnswer from exc
    status = int(head[9:12])
    lower = head.lower()
    cache = 0
    for name in (b"\r\nx-cache-status: ", b"\r\nx-cache: "):
        i = lower.find(name)
        if i >= 0:
            j = lower.index(b"\r\n", i + 2)
            cache = CACHE_CODES.get(head[i + len(name) : j].strip().upper(), 0)
            break
    keep = b"\r\nconnection: close" not in lower
    i = lower.find(b"\r\ncontent-length:")
    if i >= 0:
        j = lower.index(b"\r\n", i + 2)
        length = int(head[i + 17 : j])
        if length and status not in (204, 304):
            await reader.readexactly(length)
    elif b"\r\ntransfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, cache, keep


async def _run(
    host: str,
    port: int,
    requests: list[Request],
    plan: Plan,
    start: float,
    max_conns: int,
    sources: list[str],
    seed: int,
) -> np.ndarray:
    """Execute one process's share of a plan; rows as COLUMNS."""
    out = np.zeros((len(plan.times), len(COLUMNS)), dtype=np.float64)
    idle: dict[str, deque[Conn]] = {}
    slots = asyncio.Semaphore(max_conns)
    rng = random.Random(seed)
    pending: set[asyncio.Task[None]] = set()

    async def connect(client: str) -> Conn:
        return await asyncio.wait_for(asyncio.open_connection(host, port, local_addr=(client, 0)), 5.0)

    async def one(row: int, scheduled: float, req: Request, client: str) -> None:
        async with slots:
            own = idle.setdefault(client, deque())
            conn = own.pop() if own else None
            status, cache, keep, resent = NO_ANSWER, 0, False, 0
            reused = conn is not None
            try:
                if conn is None:
                    conn = await connect(client)
                while True:
                    reader, writer = conn
                    writer.write(req.data)
                    try:
                        status, cache, keep = await asyncio.wait_for(_read(reader), req.timeout_s)
                        break
                    except ClosedBeforeAnswer:
                        writer.close()
                        if not reused:
                            raise
                        conn, reused, resent = None, False, 1
                        conn = await connect(client)
            except (
                OSError,
                asyncio.IncompleteReadError,
                TimeoutError,
                ValueError,
                asyncio.LimitOverrunError,
            ):
                keep = False
            done = time.monotonic()
            if conn is not None:
                if keep and len(own) < IDLE_PER_CLIENT:
                    own.append(conn)
                else:
                    conn[1].close()
        out[row] = (scheduled - start, done - scheduled, status, cache, 0, resent)

    for row, (offset, idx) in enumerate(zip(plan.times, plan.index, strict=True)):
        scheduled = start + float(offset)
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(row, scheduled, requests[int(idx)], rng.choice(sources)))
        pending.add(task)
        task.add_done_callback(pending.discard)
    while pending:
        await asyncio.gather(*list(pending))
    for own in idle.values():
        for _, writer in own:
            writer.close()
    rows = out.copy()
    rows[:, 4] = plan.index
    return rows


def _worker(args: tuple, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    host, port, requests, plan, start, max_conns, sources, seed = args
    queue.put(asyncio.run(_run(host, port, requests, plan, start, max_conns, sources, seed)))


def execute(
    host: str,
    port: int,
    requests: list[Request],
    plan: Plan,
    *,
    processes: int = 2,
    max_conns: int = 512,
    clients: int = 1000,
    lead_s: float = 0.5,
) -> np.ndarray:
    """Run the plan across `processes` generator processes; all rows, sorted by scheduled time."""
    start = time.monotonic() + lead_s
    sources = source_addresses(clients)
    ctx = mp.get_context("fork")
    queue: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = []
    for k in range(processes):
        share = Plan(plan.times[k::processes], plan.index[k::processes])
        # A seed per process: with one seed, every process drew the same clients in the same order, so only
        # one process's share of the requests spread over the population (a client missed at times).
        args = (host, port, requests, share, start, max(1, max_conns // processes), sources, port * 1000 + k)
        proc = ctx.Process(target=_worker, args=(args, queue), daemon=True)
        proc.start()
        procs.append(proc)
    parts = [queue.get() for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    rows = np.concatenate(parts) if parts else np.zeros((0, len(COLUMNS)))
    return rows[np.argsort(rows[:, 0], kind="stable")]
