"""Edges of a real stack (tiles, aggregate, report, gateway processes on the session database): 2x overload,
slow clients, a hostile-input corpus over every public route, and schemathesis with >= 1,000 cases."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from tests.gateway.conftest import BASE_ENV
from tests.gateway.doubles import Doubles
from tests.reliability import corpus as hostile
from tests.reliability.faults import Traffic

MAX_INFLIGHT = 8


# Each service's own limits (exposed directly, no gateway or nginx in front): 5 s for headers and body.
SLOW = {"HEADER_TIMEOUT_S": "5", "BODY_TIMEOUT_S": "5"}


def _env(prefix: str, **more: str) -> dict[str, str]:
    return {"REZONE_FAULT": "edges", **{f"{prefix}{k}": v for k, v in SLOW.items()}, **more}


@pytest.fixture(scope="module")
def services(run_service) -> dict[str, str]:
    """The four services of a stack, each as a process of its own: name -> base URL."""
    tiles = run_service("services.tiles", _env("REZONE_TILES_"))
    aggregate = run_service("services.aggregate", _env("REZONE_AGGREGATE_"))
    report = run_service("services.report", _env("REZONE_REPORT_", REZONE_REPORT_AGGREGATE_URL=aggregate))
    gateway = run_service(
        "gateway",
        _env(
            "REZONE_GATEWAY_",
            REZONE_GATEWAY_TILES_URL=tiles,
            REZONE_GATEWAY_AGGREGATE_URL=aggregate,
            REZONE_GATEWAY_REPORT_URL=report,
            REZONE_GATEWAY_PREWARM="false",
            REZONE_GATEWAY_RATE_PER_S="100000",
            REZONE_GATEWAY_RATE_BURST="100000",
            REZONE_GATEWAY_MAX_INFLIGHT=str(MAX_INFLIGHT),
        ),
    )
    return {"gateway": gateway, "tiles": tiles, "aggregate": aggregate, "report": report}


@pytest.fixture(scope="module")
def stack(services: dict[str, str]) -> str:
    """The gateway: the public origin."""
    return services["gateway"]


@pytest.fixture(scope="module")
def codes(database_url: str) -> list[str]:
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


def test_twice_the_capacity_is_shed_with_retry_after(stack, codes, record):
    rng = random.Random(7)

    def requests() -> list[urllib.request.Request]:
        picked = rng.sample(codes, 3)  # a new selection each time: cache misses, real work upstream
        return [
            urllib.request.Request(
                f"{stack}/api/v1/territory",
                data=json.dumps({"communes": picked}).encode(),
                headers={"Content-Type": "application/json", "Accept-Encoding": "identity"},
            )
        ]

    with Traffic(requests, workers=2 * MAX_INFLIGHT) as traffic:
        time.sleep(20.0)
    assert traffic.failures(frozenset({"200", "503"})) == {}, traffic.statuses
    assert traffic.missing_retry_after == 0 and traffic.statuses["200"] > 0
    record(
        "overload_2x",
        clients=2 * MAX_INFLIGHT,
        max_inflight=MAX_INFLIGHT,
        seconds=20,
        statuses=dict(traffic.statuses),
        p50_ms=traffic.p(0.5),
        p95_ms=traffic.p(0.95),
    )


# Partial headers per service (the gateway is the public one), and short bodies per POST route of each.
PARTIAL_HEADERS = {"gateway": 1000, "tiles": 250, "aggregate": 250, "report": 250}
SHORT_BODIES = {"gateway": "/api/v1/territory", "aggregate": "/v1/diagnosis", "report": "/v1/report.pdf"}


def test_slow_clients_are_cut_off_and_others_served(services, record):
    """Every connection that never finishes its headers, or sends 1 byte of a 100-byte body, is cut off at the
    service's own timeout (5 s; a short body gets its 408, or a 503 at once beyond the in-flight cap), while
    other clients are served."""
    opened: list[tuple[str, str, socket.socket]] = []
    for name, count in PARTIAL_HEADERS.items():
        port = int(services[name].rsplit(":", 1)[1])
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finished
            opened.append((name, "headers", s))
    for name, path in SHORT_BODIES.items():
        port = int(services[name].rsplit(":", 1)[1])
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
                + b"Content-Length: 100\r\n\r\n{"
            )
            opened.append((name, "body", s))
    started = time.monotonic()
    gateway = services["gateway"]
    served = Traffic(lambda: [urllib.request.Request(f"{gateway}/api/v1/communes?q=brest")], workers=2)
    closed_after: dict[str, float] = {}
    answers: Counter[str] = Counter()
    with served:
        for name, how, s in opened:
            s.settimeout(max(0.1, 30 - (time.monotonic() - started)))
            try:
                data = s.recv(1024)
            except TimeoutError:
                data = b"timeout"
            key = f"{name}:{how}"
            closed_after[key] = max(closed_after.get(key, 0.0), time.monotonic() - started)
            if how == "headers":
                assert data == b"", (key, data[:100])
            else:  # 408 at the body timeout, or shed at once (503 + Retry-After) beyond the in-flight cap
                status = data[9:12].decode(errors="replace")
                assert status == "408" or status == "503" and b"\r\nretry-after:" in data.lower(), (
                    key,
                    data[:300],
                )
                answers[f"{name}:{status}"] += 1
            s.close()
    # Timeout 5 s, a generous margin for the shared machine (reading 2,050 sockets in turn).
    assert max(closed_after.values()) < 5 + 5, closed_after
    assert served.failures() == {}, served.statuses
    record(
        "slow_clients",
        partial_headers=PARTIAL_HEADERS,
        short_bodies=dict(answers),
        timeout_s=5,
        closed_after_s={k: round(v, 1) for k, v in closed_after.items()},
        served_meanwhile=dict(served.statuses),
    )


def test_hostile_corpus_over_every_public_route(stack, record):
    with urllib.request.urlopen(f"{stack}/api/v1/openapi.json", timeout=10) as r:
        spec = json.loads(r.read())
    corpus = hostile.build(spec, stack)
    assert len(corpus) >= 1000, len(corpus)
    # Every route of the gateway's router (the document's operations and the others) gets hostile requests.
    app = create_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/x"))
    assert hostile.uncovered_routes(app, corpus) == set()
    statuses: Counter[int] = Counter()
    bad: list[str] = []
    for req in corpus:
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                resp.read()
                statuses[resp.status] += 1
        except urllib.error.HTTPError as exc:
            body = exc.read()
            statuses[exc.code] += 1
            if exc.code >= 500 and exc.code != 503 or exc.code == 503 and not exc.headers.get("Retry-After"):
                bad.append(f"{req.get_method()} {req.full_url[:150]} -> {exc.code}")
            elif 400 <= exc.code < 500 and not _is_problem(exc, body, req.get_method()):
                ctype = exc.headers.get("Content-Type", "")
                bad.append(f"{req.get_method()} {req.full_url[:150]} -> {exc.code} {ctype} {body[:80]!r}")
        except (urllib.error.URLError, ConnectionError, ValueError) as exc:
            # urllib itself refuses some requests (control characters in the URL): not sent, not counted.
            statuses[f"client:{type(exc).__name__}"] += 1  # type: ignore[index]
    assert not bad, bad[:20]
    record(
        "hostile_corpus",
        requests=len(corpus),
        routes=len(app.router.routes()),
        statuses={str(k): v for k, v in statuses.items()},
        server_errors=0,
    )


def _is_problem(exc: urllib.error.HTTPError, body: bytes, method: str) -> bool:
    """A problem+json document with a `code` (a HEAD answer: the GET's headers, no body)."""
    if "problem+json" not in exc.headers.get("Content-Type", ""):
        return False
    if method == "HEAD":
        return body == b""
    try:
        return bool(json.loads(body).get("code"))
    except (ValueError, AttributeError):
        return False


@pytest.fixture(scope="module")
def doubled_gateway(run_service) -> Iterator[str]:
    """The gateway over upstream doubles (as in tests/gateway): schemathesis tests its own validation
    and error paths at volume; the real upstreams are covered by the corpus above."""
    doubles = Doubles()
    try:
        yield run_service(
            "gateway",
            {
                **BASE_ENV,
                **doubles.env(),
                "REZONE_GATEWAY_RATE_PER_S": "100000",
                "REZONE_GATEWAY_RATE_BURST": "100000",
            },
        )
    finally:
        doubles.close()


def test_schemathesis_thousand_cases(doubled_gateway, artifacts_dir: Path, record):
    st = Path(sys.executable).with_name("st")
    proc = subprocess.run(
        [
            str(st),
            "run",
            f"{doubled_gateway}/api/v1/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
            "negative_data_rejection",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "100",
            "--seed",
            "20261202",
            # One worker: with two, hypothesis's lambda descriptions call ast.parse from two threads at once,
            # which CPython 3.11 answers with a spurious "SystemError: AST constructor recursion depth
            # mismatch" (python/cpython#106905), a runtime error of the tool rather than a finding.
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=1500,
    )
    (artifacts_dir / "schemathesis-reliability.log").write_text(proc.stdout + proc.stderr)
    cases = [int(m) for m in __import__("re").findall(r"(\d+) generated", proc.stdout)]
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert cases and cases[-1] >= 1000, proc.stdout[-2000:]
    record("schemathesis", cases=cases[-1], failures=0, seed=20261202)
