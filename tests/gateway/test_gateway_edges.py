"""Edges: only the public files are served, malformed input gets a problem document (never a 500, never a
traceback at error level), no version in `Server`, JSON only as JSON, slow clients cut off."""

from __future__ import annotations

import asyncio
import socket
import time

import msgspec
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_only_the_public_files_are_served(http, gateway):
    for path in (
        "/package.json",
        "/package-lock.json",
        "/public-files.txt",
        "/tools/precompress.mjs",
        "/node_modules/maplibre-gl/package.json",
        "/node_modules/.package-lock.json",
        "/node_modules/maplibre-gl/dist/maplibre-gl-dev.mjs",
    ):
        async with http.get(f"{gateway}{path}") as r:
            assert r.status == 404 and r.content_type == "application/problem+json", path
    for path in (
        "/",
        "/js/main.js",
        "/js/map.js",
        "/css/app.css",
        "/img/logo.svg",
        "/node_modules/maplibre-gl/dist/maplibre-gl.mjs",
        "/node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs",
        "/node_modules/maplibre-gl/dist/maplibre-gl.css",
    ):
        async with http.get(f"{gateway}{path}") as r:
            assert r.status == 200, path


def _raw(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize(
    "target",
    [
        b"/js/%00main.js",
        b"/%00",
        b"/js/main.js%00.png",
        b"/%2e%2e%2fpyproject.toml",
        b"/%ff%fe",
        b"/a\\..\\b",
    ],
)
async def test_malformed_static_paths_are_404_problems(gateway, target: bytes):
    answer = await asyncio.to_thread(
        _raw, _port(gateway), b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert status in (400, 404), answer[:200]
    assert b"application/problem+json" in head
    assert msgspec.json.decode(body)["code"]


async def test_parser_level_400_is_a_problem_with_headers_and_is_counted(gateway, internal):
    before = await asyncio.to_thread(_malformed_count, internal(gateway))
    for request in (
        b"GARBAGE\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20000 + b"\r\n\r\n",
    ):
        answer = await asyncio.to_thread(_raw, _port(gateway), request)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4")), answer[:200]
        assert b"Content-Type: application/problem+json" in head
        assert b"X-Content-Type-Options: nosniff" in head and b"Content-Security-Policy" in head
        assert b"aiohttp" not in head
        assert msgspec.json.decode(body)["code"] == "malformed_request"
    assert await asyncio.to_thread(_malformed_count, internal(gateway)) >= before + 4


def _malformed_count(inside: str) -> float:
    import urllib.request

    with urllib.request.urlopen(f"{inside}/metrics", timeout=5) as r:
        text = r.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("http_malformed_requests_total{")
    )


async def test_no_server_version(http, gateway):
    for path in ("/", "/api/v1/meta", "/nothing", "/healthz"):
        async with http.get(f"{gateway}{path}") as r:
            assert r.headers.get("Server") == "rezone-cpts", path


async def test_text_plain_is_not_json(http, gateway):
    body = b'{"communes": ["01053"]}'
    async with http.post(
        f"{gateway}/api/v1/territory", data=body, headers={"Content-Type": "text/plain"}
    ) as r:
        assert r.status == 415 and r.content_type == "application/problem+json"
        assert (await r.json())["code"] == "unsupported_media_type"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    async with http.post(
        f"{gateway}/api/v1/territory", data=body, headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 200


async def test_slow_headers_and_slow_body_are_cut_off(start_gateway, doubles):
    gw = start_gateway(doubles, header_timeout_s="1", body_timeout_s="1", replica="slow")
    port = _port(gw)

    def partial_headers() -> float:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
            started = time.monotonic()
            assert s.recv(1024) == b""  # closed by the server
            return time.monotonic() - started

    def short_body() -> tuple[float, bytes]:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(
                b"POST /api/v1/territory HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n{"
            )
            started = time.monotonic()
            answer = s.recv(4096)
            return time.monotonic() - started, answer

    assert await asyncio.to_thread(partial_headers) < 5
    elapsed, answer = await asyncio.to_thread(short_body)
    assert elapsed < 5 and answer.startswith(b"HTTP/1.1 408"), answer[:200]
