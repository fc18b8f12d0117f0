"""The OpenAPI document validates, and the routes accept what it says (schemathesis, no server error)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from tests.gateway.test_gateway_stack import stack  # noqa: F401 (the same processes, reused)


@pytest.mark.asyncio(loop_scope="session")
async def test_document_validates(http, gateway):
    async with http.get(f"{gateway}/api/v1/openapi.json") as r:
        assert r.status == 200
        spec = await r.json()
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    assert {
        "/api/v1/communes",
        "/api/v1/communes/{code}",
        "/api/v1/territory",
        "/api/v1/territory/summary",
        "/api/v1/report.pdf",
        "/api/v1/export.csv",
        "/api/v1/project",
        "/api/v1/project/import",
    } <= set(spec["paths"])
    assert {"Diagnosis", "Summary", "Problem", "SelectionBody"} <= set(spec["components"]["schemas"])


def test_schemathesis_finds_no_server_error(gateway, artifacts_dir: Path):
    """Fuzz every operation (examples, coverage and fuzzing phases) with a fixed seed, a few hundred cases."""
    st = Path(sys.executable).with_name("st")
    report = artifacts_dir / "schemathesis-gateway.xml"
    proc = subprocess.run(
        [
            str(st),
            "run",
            f"{gateway}/api/v1/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
            "negative_data_rejection",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "25",
            "--seed",
            "20261123",
            "--workers",
            "1",
            "--request-timeout",
            "15",
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    (artifacts_dir / "schemathesis-gateway.log").write_text(proc.stdout + proc.stderr)
    tail = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield path, method, op


@pytest.mark.asyncio(loop_scope="session")
async def test_every_operation_is_named_summarised_and_exemplified(http, gateway):
    async with http.get(f"{gateway}/api/v1/openapi.json", headers={"Host": "attacker.example"}) as r:
        spec = await r.json()
    # `servers`: the configured public origin (REZONE_PUBLIC_URL: the test gateway's own), whatever the Host.
    assert spec["servers"] == [{"url": gateway, "description": "cette installation"}]
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids)) >= 18 and all(re.fullmatch(r"[a-z][A-Za-z]+", i) for i in ids)
    tags = {t["name"] for t in spec["tags"]}
    for path, method, op in _operations(spec):
        where = f"{method.upper()} {path}"
        assert op["summary"].strip() and set(op["tags"]) <= tags, where
        examples = [p for p in op["parameters"] if "example" in p]
        body = op.get("requestBody", {}).get("content", {})
        answers = op["responses"][_success(op)]["content"].values()
        assert examples or any("example" in m for m in [*body.values(), *answers]), f"{where}: no example"
        assert all("example" in p for p in op["parameters"] if p["required"]), where
        for status, answer in op["responses"].items():
            if status.startswith(("4", "5")):
                # Each error names the problem codes it carries.
                assert re.search(r"`[a-z_]+`", answer["description"]), f"{where} {status}"


def _example_request(op: dict) -> tuple[dict, str, dict | str | None]:
    path_params, query = {}, {}
    for p in op["parameters"]:
        if "example" not in p:
            continue
        value = p["example"]
        value = (
            ",".join(value)
            if isinstance(value, list)
            else str(value).lower()
            if isinstance(value, bool)
            else value
        )
        (path_params if p["in"] == "path" else query)[p["name"]] = str(value)
    body = None
    for media, content in op.get("requestBody", {}).get("content", {}).items():
        body = (media, content["example"])
        break
    return path_params, query, body


@pytest.mark.asyncio(loop_scope="session")
async def test_every_example_is_answered_200_by_the_real_stack(http, stack):  # noqa: F811 (imported fixture)
    """The document's examples are requests the real services answer (the PDF is rendered for real)."""
    async with http.get(f"{stack}/api/v1/openapi.json") as r:
        spec = await r.json()
    tried, batch = 0, None
    for path, method, op in _operations(spec):
        tried += 1
        path_params, query, body = _example_request(op)
        if "job" in path_params:
            # The example job is nobody's: ask for the batch the POST example queued, once it is made.
            assert batch is not None, "POST /api/v1/reports comes first in the document"
            path_params["job"] = batch.rsplit("/", 1)[1]
            await _made(http, batch)
        url = stack + path.format(**path_params)
        kwargs: dict = {"params": query}
        if body is not None:
            media, example = body
            kwargs = {"json": example} if media == "application/json" else {"data": example.encode()}
            kwargs["headers"] = {"Content-Type": media}
        async with http.request(method, url, **kwargs) as r:
            ok = _success(op)
            assert r.status == int(ok), f"{method.upper()} {path}: {r.status} {await r.text()}"
            declared = next(iter(op["responses"][ok]["content"]))
            assert r.content_type == declared, f"{method.upper()} {path}"
            if r.status == 202:
                batch = r.headers["Location"]
    assert tried >= 18


def _success(op: dict) -> str:
    """The operation's success status: 200, or 202 for work queued."""
    return next(s for s in op["responses"] if s.startswith("2"))


async def _made(http, batch: str, timeout: float = 300.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with http.get(batch) as r:
            if (await r.json())["state"] == "done":
                return
        assert asyncio.get_running_loop().time() < deadline, f"{batch} not made in {timeout} s"
        await asyncio.sleep(1)


def test_answer_examples_match_their_schema():
    """An example answer in the document is one its schema accepts (it is built from the Structs)."""
    import jsonschema
    import msgspec
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    from gateway.app import OPENAPI, create_app
    from gateway.settings import Settings

    app = create_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/x"))
    spec = msgspec.json.decode(app[OPENAPI])
    doc = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:doc", doc)
    checked = 0
    for _, _, op in _operations(spec):
        for media in op["responses"][_success(op)]["content"].values():
            if "example" in media:
                schema = {"$ref": "urn:doc" + media["schema"]["$ref"]}
                jsonschema.Draft202012Validator(schema, registry=registry).validate(media["example"])
                checked += 1
    assert checked >= 1


def test_numbers_in_the_document_are_the_settings():
    """Limits printed in descriptions and schemas are read from the settings, not copied."""
    import msgspec

    from gateway.app import OPENAPI, create_app
    from gateway.settings import Settings

    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:1/x",
        public_url="https://cartes.region.example/",
        list_limit_max=77,
        list_limit_default=7,
        client_max_size=8192,
        max_communes=42,
        search_max_chars=33,
    )
    spec = msgspec.json.decode(create_app(settings)[OPENAPI])
    assert spec["servers"][0]["url"] == "https://cartes.region.example"
    assert "au plus 42 communes" in spec["info"]["description"]
    cpts = spec["paths"]["/api/v1/cpts"]["get"]
    limit = next(p for p in cpts["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["maximum"], limit["schema"]["default"]) == (77, 7)
    assert "7 par page" in cpts["description"] and "1 à 77" in cpts["responses"]["400"]["description"]
    post = spec["paths"]["/api/v1/territory"]["post"]
    assert "8 Kio" in post["responses"]["413"]["description"]
    assert "plus de 42 communes" in post["responses"]["422"]["description"]
    search = spec["paths"]["/api/v1/communes"]["get"]
    assert next(p for p in search["parameters"] if p["name"] == "q")["schema"]["maxLength"] == 33
