"""Gateway fixtures: upstream doubles, a Redis server of our own, gateway processes with chosen settings."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator

import aiohttp
import asyncpg
import pytest

from deploy.local.cluster import free_port
from tests.gateway.doubles import Doubles

# Generous limits for the functional tests; the resilience tests start gateways with tight ones.
BASE_ENV = {
    "REZONE_GATEWAY_RATE_PER_S": "100000",
    "REZONE_GATEWAY_RATE_BURST": "100000",
    "REZONE_GATEWAY_PREWARM": "false",
    "REZONE_GATEWAY_CORS_ORIGINS": "https://portail.example",
    "REZONE_GATEWAY_FRAME_ANCESTORS": "'self' https://portail.example",
}


@pytest.fixture(scope="session")
def doubles() -> Iterator[Doubles]:
    """Upstream doubles shared by the functional tests (never stopped)."""
    d = Doubles()
    yield d
    d.close()


@pytest.fixture(scope="session")
def start_gateway(run_service) -> Callable[..., str]:
    """Start a gateway process wired to the given doubles with extra settings; returns its base URL.

    `run_service` keeps one process per environment; a `replica="…"` keyword (not a setting: the gateway
    ignores it) asks for another process with otherwise identical settings.
    """

    def start(upstreams: Doubles, **settings: str) -> str:
        env = {
            **BASE_ENV,
            **upstreams.env(),
            **{f"REZONE_GATEWAY_{k.upper()}": str(v) for k, v in settings.items()},
        }
        return run_service("gateway", env)

    return start


@pytest.fixture(scope="session")
def internal(run_service) -> Callable[[str], str]:
    """`internal(gateway_url)`: its internal origin, where /metrics and the detailed /readyz live."""
    return run_service.internal


@pytest.fixture(scope="session")
def gateway(start_gateway, doubles) -> str:
    """The functional-test gateway."""
    return start_gateway(doubles)


@pytest.fixture
async def http() -> Iterator[aiohttp.ClientSession]:
    """A client that leaves bodies as sent (to see Content-Encoding pass through)."""
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A private redis-server on a free port (not the machine's 6379: CI may not have one)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server missing: scripts/bootstrap.sh test installs it")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def selectable(database_url: str) -> list[str]:
    """Every selectable code of the test database, sorted; tests take disjoint slices to stay independent."""

    async def fetch() -> list[str]:
        conn = await asyncpg.connect(database_url)
        try:
            return [
                r["code"]
                for r in await conn.fetch("SELECT code FROM ref.communes WHERE selectable ORDER BY code")
            ]
        finally:
            await conn.close()

    return asyncio.run(fetch())
