"""Report fixtures: real aggregate and report processes on the session's loaded database, poppler helpers."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

# The seed's example of a scattered, multi-département territory (04, 06, 78), with homonyms.
MULTI = ["04028", "04084", "04121", "04181", "06122", "78062"]
# Gardanne and Meyreuil, neighbours in the Bouches-du-Rhône (the seed report's territory).
SMALL = ["13041", "13060"]
# Saint-Jeannet (04): 54 inhabitants, so its consumer-based indicators are masked.
TINY = ["04181"]

# Every report service of a session works the one batch queue in the database (as every replica does in
# production). A service started faulty on purpose (a compile limit of 1 ms, its aggregate stopped) would take
# other tests' batch reports and fail them: it is started without a worker.
NO_QUEUE = {"REZONE_REPORT_BATCH_CONCURRENCY": "0"}

_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="session")
def aggregate_url(run_service) -> str:
    """A real aggregate service on the session database."""
    return run_service("services.aggregate")


@pytest.fixture(scope="session")
def report_url(run_service, aggregate_url: str) -> str:
    """A real report service calling that aggregate service over HTTP."""
    return run_service("services.report", {"REZONE_REPORT_AGGREGATE_URL": aggregate_url})


@pytest.fixture(scope="session")
def hundred(database_url: str) -> list[str]:
    """100 selectable communes of the Bouches-du-Rhône (arrondissements of Marseille included)."""

    async def fetch() -> list[str]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT code FROM ref.communes WHERE selectable AND departement_code = '13' "
                "ORDER BY code LIMIT 100"
            )
        finally:
            await conn.close()
        return [r["code"] for r in rows]

    codes = asyncio.run(fetch())
    assert len(codes) == 100
    return codes


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session with a generous timeout (reports compile in well under a second)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


@pytest.fixture(scope="session")
def poppler() -> None:
    """pdftotext and pdftoppm are required (scripts/bootstrap.sh installs poppler-utils)."""
    missing = [t for t in ("pdftotext", "pdftoppm", "pdfinfo") if shutil.which(t) is None]
    assert not missing, f"poppler-utils missing: {missing}"


def pdf_text(pdf: bytes, *, first: int | None = None, last: int | None = None, layout: bool = False) -> str:
    """The text layer of a PDF as pdftotext extracts it."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        args = ["pdftotext", "-enc", "UTF-8"]
        if layout:
            args.append("-layout")
        if first:
            args += ["-f", str(first)]
        if last:
            args += ["-l", str(last)]
        return subprocess.run([*args, f.name, "-"], check=True, capture_output=True).stdout.decode()


def page_count(pdf: bytes) -> int:
    """Number of pages according to pdfinfo."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        out = subprocess.run(["pdfinfo", f.name], capture_output=True).stdout.decode()
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def render_pages(pdf: bytes, directory: Path, stem: str, last: int = 4) -> list[Path]:
    """The first pages as PNG files (for a person to look at) and the PDF itself, under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{stem}.pdf").write_bytes(pdf)
    for old in directory.glob(f"{stem}-*.png"):
        old.unlink()
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "80",
            "-png",
            "-f",
            "1",
            "-l",
            str(last),
            str(directory / f"{stem}.pdf"),
            str(directory / stem),
        ],
        check=True,
    )
    return sorted(directory.glob(f"{stem}-*.png"))


def flat(text: str) -> str:
    """Text with bidi marks removed, words split across lines rejoined and whitespace collapsed."""
    text = _BIDI.sub("", text).replace("-\n", "-")
    return " ".join(text.split())
