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

from tests.gateway.conftest import BASE_ENV
from tests.gateway.doubles import Doubles
from tests.reliability.faults import Traffic

MAX_INFLIGHT = 8


@pytest.fixture(scope="module")
def stack(run_service) -> str:
    tiles = run_service("services.tiles", {"REZONE_FAULT": "edges"})
    aggregate = run_service("services.aggregate", {"REZONE_FAULT": "edges"})
    report = run_service(
        "services.report", {"REZONE_FAULT": "edges", "REZONE_REPORT_AGGREGATE_URL": aggregate}
    )
    return run_service(
        "gateway",
        {
            "REZONE_FAULT": "edges",
            "REZONE_GATEWAY_TILES_URL": tiles,
            "REZONE_GATEWAY_AGGREGATE_URL": aggregate,
            "REZONE_GATEWAY_REPORT_URL": report,
            "REZONE_GATEWAY_PREWARM": "false",
            "REZONE_GATEWAY_RATE_PER_S": "100000",
            "REZONE_GATEWAY_RATE_BURST": "100000",
            "REZONE_GATEWAY_MAX_INFLIGHT": str(MAX_INFLIGHT),
            "REZONE_GATEWAY_HEADER_TIMEOUT_S": "5",
            "REZONE_GATEWAY_BODY_TIMEOUT_S": "5",
        },
    )


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


def test_slow_clients_are_cut_off_and_others_served(stack, record):
    port = int(stack.rsplit(":", 1)[1])
    sockets = []
    for _ in range(1000):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finished
        sockets.append(s)
    opened = time.monotonic()
    with Traffic(lambda: [urllib.request.Request(f"{stack}/api/v1/communes?q=brest")], workers=2) as traffic:
        closed_after = []
        for s in sockets:
            s.settimeout(max(0.1, 30 - (time.monotonic() - opened)))
            try:
                data = s.recv(1024)
            except TimeoutError:
                data = b"timeout"
            closed_after.append(time.monotonic() - opened)
            assert data == b"", data[:100]
            s.close()
    assert max(closed_after) < 5 + 5, max(closed_after)  # header timeout 5 s, generous margin for the machine
    assert traffic.failures() == {}, traffic.statuses
    record(
        "slow_clients",
        connections=len(sockets),
        header_timeout_s=5,
        all_closed_after_s=round(max(closed_after), 1),
        served_meanwhile=dict(traffic.statuses),
    )


HOSTILE = [
    "",
    "'",
    "' OR 1=1--",
    "\x00",
    "%00",
    "../../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "A" * 5000,
    "🙂" * 300,
    "<script>alert(1)</script>",
    "${jndi:ldap://127.0.0.1/x}",
    "%s%s%n",
    "-1",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "null",
    "[]",
    "{}",
    "\u202e29019",
    "29019\r\nX-Injected: 1",
    ",,,,,",
    ",".join(["29019"] * 500),
    "2A004,2B033,97101,75056",
    "é",
]
BODIES = [
    (b"", "application/json"),
    (b"{", "application/json"),
    (b"null", "application/json"),
    (b'{"communes": "29019"}', "application/json"),
    (b'{"communes": [1, 2, 3]}', "application/json"),
    (b'{"communes": ["29019"], "extra": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json"),
    (b'{"communes": ["' + b"9" * 100000 + b'"]}', "application/json"),
    (b'{"communes": ["29019"]}', "text/plain"),
    (b'{"communes": ["29019"]}', "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (json.dumps({"communes": ["29019"] * 1000}).encode(), "application/json"),
    (json.dumps({"communes": ["29019"], "nom": "\x00" * 50}).encode(), "application/json"),
]


def _corpus(stack: str) -> list[urllib.request.Request]:
    with urllib.request.urlopen(f"{stack}/api/v1/openapi.json", timeout=10) as r:
        spec = json.loads(r.read())
    out = []
    json_type = {"Content-Type": "application/json"}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method not in ("get", "post"):
                continue
            params = [p for p in op.get("parameters", []) if p.get("in") in ("query", "path")]
            # Every parameter hostile at once, then each one alone (the others valid).
            targets: list[str | None] = [None, *(p["name"] for p in params)] if len(params) > 1 else [None]
            for value in HOSTILE:
                quoted = urllib.parse.quote(value, safe="")
                for only in targets:
                    values = {p["name"]: quoted if only in (None, p["name"]) else "29019" for p in params}
                    concrete = path
                    for p in params:
                        if p["in"] == "path":
                            concrete = concrete.replace("{" + p["name"] + "}", values[p["name"]])
                    query = "&".join(f"{p['name']}={values[p['name']]}" for p in params if p["in"] == "query")
                    url = f"{stack}{concrete}" + (f"?{query}" if query else "")
                    if method == "get":
                        out.append(urllib.request.Request(url))
                    else:
                        out.append(urllib.request.Request(url, data=b"{}", headers=json_type))
            if method == "post":
                for body, ctype in BODIES:
                    out.append(
                        urllib.request.Request(f"{stack}{path}", data=body, headers={"Content-Type": ctype})
                    )
                for value in HOSTILE:  # hostile values inside well-formed JSON documents
                    for doc in (
                        {"communes": [value]},
                        {"communes": ["29019", value]},
                        {"communes": ["29019"], "nom": value},
                        {"communes": ["29019"], "ald": [value]},
                        {"communes": value},
                    ):
                        data = json.dumps(doc).encode()
                        out.append(urllib.request.Request(f"{stack}{path}", data=data, headers=json_type))
    for value in HOSTILE:  # the page, static files, tiles and styles
        quoted = urllib.parse.quote(value, safe="")
        for tail in (
            f"/{quoted}",
            f"/js/{quoted}",
            f"/tiles/{quoted}/1/2/3.mvt",
            f"/tiles/communes/{quoted}/0/0.mvt",
            f"/tiles/{quoted}.json",
            f"/styles/{quoted}",
        ):
            out.append(urllib.request.Request(f"{stack}{tail}"))
    return out


def test_hostile_corpus_over_every_public_route(stack, record):
    corpus = _corpus(stack)
    assert len(corpus) >= 1000, len(corpus)
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
            elif 400 <= exc.code < 500 and exc.code != 405:
                ctype = exc.headers.get("Content-Type", "")
                if "problem+json" not in ctype or not json.loads(body).get("code"):
                    bad.append(f"{req.get_method()} {req.full_url[:150]} -> {exc.code} {ctype}")
        except (urllib.error.URLError, ConnectionError, ValueError) as exc:
            # urllib itself refuses some requests (control characters in the URL): not sent, not counted.
            statuses[f"client:{type(exc).__name__}"] += 1  # type: ignore[index]
    assert not bad, bad[:20]
    record(
        "hostile_corpus",
        requests=len(corpus),
        statuses={str(k): v for k, v in statuses.items()},
        server_errors=0,
    )


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
            "--workers",
            "2",
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
