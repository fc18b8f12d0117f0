"""The load generator's clients: a population of source addresses, each with its own keep-alive connections.

Against a real HTTP server on loopback (an asyncio server in a thread, answering every request at once), the
generator must spread its requests over its clients as a population of users would, and never send one
client's request on another client's connection — else a rate limit per client counts the generator's
connection reuse (docs/load/README.md, "Run of 2026-12-03").
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pytest

from bench.load import openloop

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class Server:
    """Counts requests per peer address; answers each at once, keeps the connection open."""

    def __init__(self) -> None:
        self.per_address: Counter[str] = Counter()
        self.connections: Counter[str] = Counter()
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("peername")[0]
        self.connections[address] += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                self.per_address[address] += 1
                writer.write(ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    def run(self) -> None:
        asyncio.set_event_loop(self._loop)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, sock=sock, backlog=1024))
        self._ready.set()
        self._loop.run_forever()
        server.close()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    srv._ready.wait(5)
    yield srv
    srv.stop()
    thread.join(5)


def test_requests_spread_over_the_client_population(server: Server) -> None:
    clients, count, rate = 100, 1500, 500.0
    request = openloop.Request("probe", b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    plan = openloop.Plan(np.arange(count) / rate, np.zeros(count, dtype=np.int32))
    rows = openloop.execute(
        "127.0.0.1", server.port, [request], plan, processes=2, max_conns=64, clients=clients
    )
    assert (rows[:, 2] == 200).all()
    assert sum(server.per_address.values()) == count
    # Every address of the population is used, and none carries much more than its share (15 on average):
    # reusing any idle connection for any request puts hundreds on the first few connections' addresses.
    assert set(server.per_address) == set(openloop.source_addresses(clients))
    assert max(server.per_address.values()) <= 4 * count / clients
    # Keep-alive still works: far fewer connections than requests, a few per client at most.
    assert sum(server.connections.values()) <= clients * (openloop.IDLE_PER_CLIENT + 1) * 2
