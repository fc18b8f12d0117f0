"""The hostile-input corpus: requests built from the gateway's own OpenAPI document (every operation, every
parameter, every body field and media type it declares) plus the routes the document does not describe (the
page, static files, tiles, styles, the document and its reference page, CORS preflights), and the check that
every route of the gateway's router received some of them."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request
from typing import Any

from aiohttp.test_utils import make_mocked_request

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
# Raw bodies whatever the operation declares: malformed, oversized, deeply nested, in the wrong media type.
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
    (b"\xff\xfe\x00garbage", "application/octet-stream"),
    (b"A" * 3_000_000, "application/octet-stream"),
]
# Paths outside the document: the page, static files, tiles, styles.
OUTSIDE = (
    "/{}",
    "/js/{}",
    "/tiles/{}/1/2/3.mvt",
    "/tiles/communes/{}/0/0.mvt",
    "/tiles/{}.json",
    "/styles/{}",
)
# Routes of the gateway that take no parameter and are not operations of the document.
UNDOCUMENTED = ("/api/v1/openapi.json", "/api/v1/docs", "/healthz", "/readyz")
PREFLIGHT = ("/api/v1/territory", "/api/v1/{}", "/tiles/communes/0/0/0.mvt", "/styles/{}")


def _ref(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _json_documents(spec: dict, content: dict, value: str) -> list[bytes]:
    """The operation's example with each field of its body schema made hostile in turn (alone, or as an
    item of a list field next to a valid one), and the whole body as that value."""
    media = content["application/json"]
    example: dict[str, Any] = media.get("example") or {}
    schema = _ref(spec, media["schema"])
    docs: list[Any] = [value]
    for name, prop in schema.get("properties", {}).items():
        if _ref(spec, prop).get("type") == "array" or "items" in prop:
            valid = (example.get(name) or [])[:1]
            docs += [{**example, name: [value]}, {**example, name: [*valid, value]}]
        docs.append({**example, name: value})
    return [json.dumps(d).encode() for d in docs]


def _raw_documents(example: str, value: str) -> list[bytes]:
    """A text upload (the project file): its example with each line replaced by the value, then with the
    value after each line's first word, and the value alone."""
    lines = example.splitlines()
    docs = [value]
    for i, line in enumerate(lines):
        for changed in (value, f"{line.split(' ')[0]} {value}"):
            docs.append("\n".join([*lines[:i], changed, *lines[i + 1 :]]) + "\n")
    return [d.encode() for d in docs]


def _valid(param: dict) -> str | None:
    """The documented example of a parameter, as sent in a URL; None: left out."""
    example = param.get("example")
    if example is None:
        return "29019" if param.get("required") else None
    if isinstance(example, bool):
        return str(example).lower()
    if isinstance(example, list):
        return ",".join(urllib.parse.quote(str(v), safe="") for v in example)
    return urllib.parse.quote(str(example), safe="")


def _get(url: str) -> list[urllib.request.Request]:
    """GET and HEAD (aiohttp answers HEAD on every GET route)."""
    return [urllib.request.Request(url, method=m) for m in ("GET", "HEAD")]


def build(spec: dict, base: str) -> list[urllib.request.Request]:
    """Every request of the corpus, against the gateway at `base`."""
    out: list[urllib.request.Request] = []
    json_type = {"Content-Type": "application/json"}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            params = [p for p in op.get("parameters", []) if p.get("in") in ("query", "path")]
            # Every parameter hostile at once, then each one alone (the others valid: their examples).
            targets: list[str | None] = [None, *(p["name"] for p in params)] if len(params) > 1 else [None]
            for value in HOSTILE:
                quoted = urllib.parse.quote(value, safe="")
                for only in targets:
                    values = {p["name"]: quoted if only in (None, p["name"]) else _valid(p) for p in params}
                    concrete = path
                    for p in params:
                        if p["in"] == "path":
                            concrete = concrete.replace("{" + p["name"] + "}", values[p["name"]] or "29019")
                    query = "&".join(
                        f"{p['name']}={values[p['name']]}"
                        for p in params
                        if p["in"] == "query" and values[p["name"]] is not None
                    )
                    url = f"{base}{concrete}" + (f"?{query}" if query else "")
                    if method == "get":
                        out += _get(url) if only is None else [urllib.request.Request(url)]
                    else:
                        out.append(urllib.request.Request(url, data=b"{}", headers=json_type))
            content = op.get("requestBody", {}).get("content", {})
            if not content:
                continue
            for body, ctype in BODIES:
                out.append(
                    urllib.request.Request(f"{base}{path}", data=body, headers={"Content-Type": ctype})
                )
            for value in HOSTILE:  # hostile values inside well-formed documents of each declared media type
                for ctype, media in content.items():
                    if ctype == "application/json":
                        docs = _json_documents(spec, content, value)
                    else:
                        docs = _raw_documents(str(media.get("example", "")), value)
                    headers = {"Content-Type": ctype}
                    out += [urllib.request.Request(f"{base}{path}", data=d, headers=headers) for d in docs]
    for value in HOSTILE:
        quoted = urllib.parse.quote(value, safe="")
        for tail in OUTSIDE:
            out += _get(base + tail.format(quoted))
        for page in UNDOCUMENTED:
            out += _get(f"{base}{page}?{quoted}={quoted}")
        for target in PREFLIGHT:
            headers = {
                "Origin": value,
                "Access-Control-Request-Method": value,
                "Access-Control-Request-Headers": value,
            }
            out.append(
                urllib.request.Request(base + target.format(quoted), headers=headers, method="OPTIONS")
            )
    return out


def uncovered_routes(app: Any, corpus: list[urllib.request.Request]) -> set[tuple[str, str]]:
    """(method, route) pairs of the gateway's router that no request of the corpus reaches."""
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}

    async def reached() -> set[tuple[str, str]]:
        seen = set()
        for req in corpus:
            split = urllib.parse.urlsplit(req.full_url)
            target = split.path + (f"?{split.query}" if split.query else "")
            try:
                match = await app.router.resolve(make_mocked_request(req.get_method(), target, app=app))
            except (ValueError, UnicodeError):
                continue
            route = match.route
            if route.resource is not None:
                seen.add((route.method, route.resource.canonical))
        return seen

    return routes - asyncio.run(reached())
