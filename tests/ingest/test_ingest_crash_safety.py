"""Crash safety of the load: incomplete files are refused with file, line and reason, and nothing is loaded;
half states left by a dead or older loader are found and repaired by the next load."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import asyncpg
import pytest

from services.common.errors import ImportRejected
from services.ingest import demo
from services.ingest.files import MIN_ROW_RATIO
from services.ingest.pipeline import run_load
from services.ingest.sources import SOURCES

pytestmark = pytest.mark.asyncio(loop_scope="session")
FINESS_NAME = "etalab-cs1100507-stock-20250101-0000.csv"


@pytest.fixture
async def db(database_url: str):
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


def _data_dir(test_data_dir: Path, tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(test_data_dir / "demo", data_dir / "demo", copy_function=os.link)
    if (test_data_dir / "tiles").is_dir():
        shutil.copytree(test_data_dir / "tiles", data_dir / "tiles")
    (data_dir / "sources").mkdir()
    return data_dir


def _demo(test_data_dir: Path, key: str) -> Path:
    manifest = demo.read_manifest(test_data_dir / "demo")
    assert manifest
    return test_data_dir / "demo" / manifest["files"][key]["name"]


async def _published(conn: asyncpg.Connection) -> tuple:
    return (
        await conn.fetchval("SELECT generation FROM ref.load_state"),
        await conn.fetchval("SELECT ref.data_version()"),
        await conn.fetchval("SELECT count(*) FROM health.finess_et WHERE geom IS NOT NULL"),
        await conn.fetchval("SELECT count(*) FROM ref.zonage"),
    )


async def test_finess_cut_at_a_line_boundary_is_refused(db, test_data_dir: Path, tmp_path: Path):
    """The cut seen in the field: the geolocalisation lines that follow the structureet lines are lost."""
    data_dir = _data_dir(test_data_dir, tmp_path)
    lines = _demo(test_data_dir, "finess").read_bytes().split(b"\n")
    kept = lines[: int(len(lines) * 0.7)]
    (data_dir / "sources" / FINESS_NAME).write_bytes(b"\n".join(kept) + b"\n")
    before = await _published(db)
    with pytest.raises(ImportRejected) as caught:
        await run_load(db, data_dir=data_dir)
    assert caught.value.file == FINESS_NAME
    assert caught.value.line is not None and 1 < caught.value.line <= len(kept)
    assert "has no geolocalisation line" in caught.value.reason
    assert await _published(db) == before


async def test_shrunk_file_refused_unless_accepted(db, test_data_dir: Path, tmp_path: Path):
    data_dir = _data_dir(test_data_dir, tmp_path)
    lines = _demo(test_data_dir, "zonage").read_text().splitlines()
    keep = int((len(lines) - 1) * (MIN_ROW_RATIO - 0.2))
    (data_dir / "sources" / "zonage-20250101.csv").write_text("\n".join(lines[: keep + 1]) + "\n")
    before = await _published(db)
    with pytest.raises(ImportRejected) as caught:
        await run_load(db, data_dir=data_dir)
    assert (caught.value.file, caught.value.line) == ("zonage-20250101.csv", keep + 1)
    assert "--accept-shrink" in caught.value.reason and f"{len(lines) - 1}" in caught.value.reason
    assert await _published(db) == before


async def test_required_column_left_empty_is_refused(db, test_data_dir: Path, tmp_path: Path):
    """A name column emptied on one line (a spreadsheet export that lost a cell): refused with that line."""
    data_dir = _data_dir(test_data_dir, tmp_path)
    lines = _demo(test_data_dir, "qpv").read_text().splitlines()
    assert lines[0].split(";")[1] == "lib_qp"
    fields = lines[3].split(";")
    lines[3] = ";".join([fields[0], " ", *fields[2:]])
    name = next(s.pattern for s in SOURCES if s.key == "qpv").replace("*", "20990101")
    (data_dir / "sources" / name).write_text("\n".join(lines) + "\n")
    before = await _published(db)
    with pytest.raises(ImportRejected) as caught:
        await run_load(db, data_dir=data_dir)
    assert (caught.value.file, caught.value.line, caught.value.reason) == (name, 4, "lib_qp: empty")
    assert await _published(db) == before


async def test_half_states_are_found_and_repaired(db, test_data_dir: Path, tmp_path: Path):
    """What an older loader left behind: rows gone behind a kept checksum, views of another data version."""
    data_dir = _data_dir(test_data_dir, tmp_path)
    zonage = await db.fetchval("SELECT count(*) FROM ref.zonage")
    profile = await db.fetchval(
        "SELECT md5(string_agg(p::text, ',' ORDER BY commune_code)) FROM stats.commune_profile p"
    )
    await db.execute("DELETE FROM ref.zonage")
    await db.execute(
        "UPDATE ref.load_state SET views_version = 'stale', attempt = attempt + 1, attempt_outcome = NULL"
    )
    summary = await run_load(db, data_dir=data_dir)
    assert summary["repaired"]["interrupted"] is True
    assert "zonage" in summary["repaired"]["broken_sources"]
    assert summary["repaired"]["views_stale"] is True
    assert summary["zonage"] != "unchanged" and summary["finess"] == "unchanged"
    assert await db.fetchval("SELECT count(*) FROM ref.zonage") == zonage
    assert (
        await db.fetchval(
            "SELECT md5(string_agg(p::text, ',' ORDER BY commune_code)) FROM stats.commune_profile p"
        )
        == profile
    )
    state = await db.fetchrow("SELECT * FROM ref.load_state")
    assert state["generation"] == state["attempt"] and state["views_version"] == state["data_version"]
    again = await run_load(db, data_dir=data_dir)
    assert "repaired" in again and not any(
        again["repaired"][k] for k in ("interrupted", "broken_sources", "views_stale")
    )
