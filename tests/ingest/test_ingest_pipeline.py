"""The load as an operation: a rejected file leaves the previous data intact (importer and pipeline), a
second run changes nothing, the generator is byte-identical across runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import asyncpg
import pytest

from services.common.errors import ImportRejected
from services.ingest import demo, finess
from services.ingest.files import SourceFile, copy_rows, sha256_of
from services.ingest.pipeline import run_load

# The connection fixture lives on the session loop (asyncio_default_fixture_loop_scope): run the tests there.
pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def db(database_url: str):
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


def _demo_file(test_data_dir: Path, key: str) -> Path:
    manifest = demo.read_manifest(test_data_dir / "demo")
    assert manifest, "the session load wrote the demo files and their manifest"
    return test_data_dir / "demo" / manifest["files"][key]["name"]


def _data_dir(test_data_dir: Path, tmp_path: Path) -> Path:
    """A data directory of our own with the session's demo files (hard links: the generator never writes
    into an existing file, it swaps directories) and a copy of its tile pyramid, so nothing is rebuilt."""
    data_dir = tmp_path / "data"
    shutil.copytree(test_data_dir / "demo", data_dir / "demo", copy_function=os.link)
    if (test_data_dir / "tiles").is_dir():
        shutil.copytree(test_data_dir / "tiles", data_dir / "tiles")
    return data_dir


def _corrupt(source: Path, target: Path, line_number: int) -> Path:
    """Copy of a FINESS file whose `line_number` (1-based) loses its last field."""
    lines = source.read_bytes().split(b"\n")
    lines[line_number - 1] = lines[line_number - 1].rsplit(b";", 1)[0]
    target.write_bytes(b"\n".join(lines))
    return target


async def _finess_state(conn: asyncpg.Connection) -> tuple:
    return (
        await conn.fetchval("SELECT count(*) FROM health.finess_et"),
        await conn.fetchval(
            "SELECT md5(string_agg(nofinesset || selectable_code, ',' ORDER BY nofinesset)) "
            "FROM health.finess_et"
        ),
        await conn.fetchval("SELECT sha256 FROM ref.data_sources WHERE source = 'finess'"),
        await conn.fetchval("SELECT sum(n) FROM stats.commune_finess"),
        await conn.fetchval("SELECT ref.data_version()"),
    )


async def test_corrupt_finess_line_rejected_and_previous_data_kept(db, test_data_dir: Path, tmp_path: Path):
    before = await _finess_state(db)
    assert before[0] > 20_000
    bad = _corrupt(
        _demo_file(test_data_dir, "finess"), tmp_path / "etalab-cs1100507-stock-20250101-0000.csv", 1234
    )
    file = SourceFile("finess", "FINESS", "structures", bad, is_demo=False, sha256=sha256_of(bad))
    with pytest.raises(ImportRejected) as caught:
        await finess.load(db, file)
    assert caught.value.file == bad.name and caught.value.line == 1234
    assert "fields, expected" in caught.value.reason
    assert await _finess_state(db) == before


async def test_pipeline_reports_the_rejection_and_keeps_everything(db, test_data_dir: Path, tmp_path: Path):
    """A real file dropped into <data_dir>/sources replaces the demo one; when it is corrupt the load fails
    with the file and line and publishes nothing at all (no source, no checksum, no generation)."""
    data_dir = _data_dir(test_data_dir, tmp_path)
    (data_dir / "sources").mkdir()
    _corrupt(
        _demo_file(test_data_dir, "finess"),
        data_dir / "sources" / "etalab-cs1100507-stock-20250101-0000.csv",
        77,
    )
    before = await _finess_state(db)
    generation = await db.fetchval("SELECT generation FROM ref.load_state")
    sources_before = await db.fetch("SELECT source, sha256, loaded_at FROM ref.data_sources ORDER BY source")
    with pytest.raises(ImportRejected) as caught:
        await run_load(db, data_dir=data_dir)
    assert (caught.value.file, caught.value.line) == ("etalab-cs1100507-stock-20250101-0000.csv", 77)
    assert await _finess_state(db) == before
    state = await db.fetchrow("SELECT generation, attempt, attempt_outcome FROM ref.load_state")
    assert state["generation"] == generation and state["attempt"] > generation
    assert state["attempt_outcome"].startswith("rejected: etalab-cs1100507-stock-20250101-0000.csv:77")
    assert (
        await db.fetch("SELECT source, sha256, loaded_at FROM ref.data_sources ORDER BY source")
        == sources_before
    )


async def test_second_run_is_a_no_op(db, test_data_dir: Path, tmp_path: Path):
    data_dir = _data_dir(test_data_dir, tmp_path)
    version = await db.fetchval("SELECT ref.data_version()")
    summary = await run_load(db, data_dir=data_dir)
    assert summary["reference"] == "unchanged" and summary["demo_files"] == "unchanged"
    assert all(summary[key] == "unchanged" for key in ("finess", "dcir_indicateurs", "cpts", "views"))
    assert await db.fetchval("SELECT ref.data_version()") == version


async def test_generator_byte_identical_across_runs(db, test_data_dir: Path, tmp_path: Path):
    """Two runs: the one of the session load (another process, another hash seed) and one here."""
    files = await demo.generate(db, tmp_path / "demo")
    reference = test_data_dir / "demo"
    assert sorted(files) == sorted(demo.read_manifest(reference)["files"])
    for name in sorted([*files.values(), demo.MANIFEST]):
        assert (tmp_path / "demo" / name).read_bytes() == (reference / name).read_bytes(), name


class _Rollback(Exception):
    pass


@pytest.mark.parametrize("rebuilding", [False, True])
async def test_bulk_copy_locks_the_reference_only_while_rebuilding(database_url: str, db, rebuilding: bool):
    """A reload must not stall the services' reads (of ref.communes, nor of the table itself, which the api
    functions read); a first load, which nobody reads, may, for speed."""
    columns = ("commune_code", "profession", "n_ps", "patients", "source")
    records = [tuple(r) for r in await db.fetch(f"SELECT {', '.join(columns)} FROM health.ps_activity")]
    assert len(records) > 10_000  # large enough for the bulk path
    file = SourceFile("ps_activite", "x", "x", Path("ps_activite.csv"), True, "0" * 64, rebuilding=rebuilding)
    reader = await asyncpg.connect(database_url)
    try:
        await reader.execute("SET lock_timeout = '300ms'")
        with pytest.raises(_Rollback):
            async with db.transaction():
                await copy_rows(db, "health.ps_activity", columns, records, file=file)
                locked = await db.fetch("""
                    SELECT relation::regclass::text AS rel FROM pg_locks
                    WHERE pid = pg_backend_pid() AND mode = 'AccessExclusiveLock'
                      AND relation IN ('ref.communes'::regclass, 'health.ps_activity'::regclass)""")
                assert len({r["rel"] for r in locked}) == (2 if rebuilding else 0)
                if not rebuilding:
                    assert await reader.fetchval("SELECT nom FROM ref.communes WHERE code = '01001'")
                raise _Rollback
    finally:
        await reader.close()
    assert await db.fetchval("SELECT count(*) FROM health.ps_activity") == len(records)
