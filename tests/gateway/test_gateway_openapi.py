"""The OpenAPI document validates, and the routes accept what it says (schemathesis, no server error)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate


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
