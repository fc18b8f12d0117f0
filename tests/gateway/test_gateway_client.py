"""docs/api.md, run as written against the real stack: the Python client generated from the served OpenAPI
document by the documented command, the worked example with it, and every curl line."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import asyncpg

from tests.gateway.test_gateway_stack import stack  # noqa: F401 (the same processes, reused)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
BIN = Path(sys.executable).parent


def _block(section: str, language: str) -> str:
    """The first fenced block of `language` in the section of docs/api.md headed `section`."""
    text = DOC.read_text()
    start = text.index(f"\n### {section}\n")
    found = re.search(rf"```{language}\n(.*?)```", text[start:], re.DOTALL)
    assert found, f"no {language} block under {section}"
    return found.group(1)


def _env(stack_url: str, **extra: str) -> dict[str, str]:
    # The generator formats what it writes with ruff: the one of the test extra, next to this interpreter.
    return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "REZONE": stack_url, **extra}


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 180) -> str:
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{command}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _corsica(database_url: str) -> list[dict]:
    async def fetch() -> list[dict]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                """SELECT p.id, p.nom, p.statut, count(*) AS n, sum(c.population) AS population
                   FROM ref.cpts p JOIN ref.cpts_communes pc ON pc.cpts_id = p.id
                   JOIN ref.communes c ON c.code = pc.commune_code
                   WHERE p.id IN (SELECT pc2.cpts_id FROM ref.cpts_communes pc2
                                  JOIN ref.communes c2 ON c2.code = pc2.commune_code
                                  WHERE c2.region_code = '94')
                   GROUP BY p.id ORDER BY p.id"""
            )
            return [dict(r) for r in rows]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def test_generated_client_runs_the_worked_example(stack, database_url, tmp_path: Path, artifacts_dir):  # noqa: F811
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "api-client.yaml", tmp_path / "docs" / "api-client.yaml")
    env = _env(stack)
    generate = _block("Python client", "sh")
    _run(["bash", "-euo", "pipefail", "-c", generate], tmp_path, env)
    assert (tmp_path / "rezone_client" / "api" / "listes" / "list_cpts.py").is_file()
    (tmp_path / "example.py").write_text(_block("Python client", "python"))
    out = _run([sys.executable, "example.py"], tmp_path, {**env, "PYTHONPATH": str(tmp_path)})
    (artifacts_dir / "api-client-example.txt").write_text(out)

    corsica = _corsica(database_url)
    assert "(données de démonstration)" in out.splitlines()[0]
    assert f"{len(corsica)} CPTS en Corse" in out and len(corsica) > 2  # more than one page of 2
    for c in corsica:
        if c["n"] > 100:
            assert f"{c['nom']} : {c['n']} communes, trop pour un diagnostic" in out
        else:
            assert f"{c['nom']} ({c['statut']}) : {c['population']} habitants" in out
    assert re.search(r"^[1-9]\d* communes de Haute-Corse hors de toute CPTS, dont \S", out, re.MULTILINE)
    pdf = (tmp_path / "rapport.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and f"rapport.pdf : {len(pdf)} octets" in out


def test_every_curl_example_runs(stack, tmp_path: Path):  # noqa: F811
    lines = [line for line in _block("curl", "sh").splitlines() if line.strip()]
    assert len(lines) >= 15 and all(line.startswith(("curl ", "etag=")) for line in lines)
    outputs = [_run(["bash", "-euo", "pipefail", "-c", line], tmp_path, _env(stack), 120) for line in lines]
    assert outputs[-1].strip() == "304"
    assert (tmp_path / "rapport.pdf").read_bytes().startswith(b"%PDF-")
    link = next(o for line, o in zip(lines, outputs, strict=True) if line.startswith("curl -fsSI"))
    assert re.search(
        rf'^link: <{re.escape(stack)}/api/v1/cpts\?[^>]*cursor=[^>]+>; rel="next"', link, re.I | re.M
    )


def test_batch_example_runs(stack, tmp_path: Path):  # noqa: F811
    """docs/api.md « Rapports en lot »: queue two reports, poll until done, download both PDFs."""
    script = _block("Rapports en lot (batch reports)", "sh")
    out = _run(["bash", "-euo", "pipefail", "-c", script], tmp_path, _env(stack), 600)
    assert re.search(rf"^lot : {re.escape(stack)}/api/v1/reports/[0-9a-f-]{{36}}$", out, re.M), out
    for n in (1, 2):
        assert (tmp_path / f"rapport-{n}.pdf").read_bytes().startswith(b"%PDF-")
    assert out.count('"state":"ready"') == 2
