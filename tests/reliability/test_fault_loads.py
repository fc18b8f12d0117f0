"""The loader killed (-9) at random points of real reloads, and broken files of every source: the published
data never change (row count and checksum of every table), and the service answers throughout."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncpg
import pytest

from services.common.errors import ImportRejected
from services.ingest import demo
from services.ingest.pipeline import run_load
from services.ingest.sources import SOURCES
from tests.conftest import ROOT, role_dsn
from tests.reliability.faults import Traffic, table_fingerprints

KILLS = int(os.environ.get("REZONE_RELIABILITY_KILLS", "21"))
# Sources whose files are rewritten (same rows, another order) before each attempt, so that every attempt has
# real work in every phase: several importers, views CONCURRENTLY, the tile tables and pyramid.
RELOADED = ("ecds", "zonage", "qpv", "cpts", "ps_demographie", "dcir_grippe")
# Metadata a completed reload legitimately changes (checksums, versions, generation): compared by count only.
METADATA = {"ref.data_sources", "ref.load_state", "tiles.build_state"}
SELECTIONS = (["29019", "29075", "29039"], ["13001", "13071"], ["75113", "75114", "94080"])


def _data_dir(test_data_dir: Path, tmp: Path) -> Path:
    data = tmp / "data"
    shutil.copytree(test_data_dir / "demo", data / "demo", copy_function=os.link)
    if (test_data_dir / "cache").is_dir():
        shutil.copytree(test_data_dir / "cache", data / "cache", copy_function=os.link)
    if (test_data_dir / "tiles").is_dir():
        shutil.copytree(test_data_dir / "tiles", data / "tiles")
    (data / "sources").mkdir()
    return data


def _reshuffle(test_data_dir: Path, data: Path, rng: random.Random) -> None:
    """New files (same rows, new order: new sha256) for the RELOADED sources, as real drops would be."""
    manifest = demo.read_manifest(test_data_dir / "demo")
    patterns = {s.key: s.pattern for s in SOURCES}
    for old in (data / "sources").iterdir():
        old.unlink()
    for key in RELOADED:
        lines = (test_data_dir / "demo" / manifest["files"][key]["name"]).read_text().splitlines()
        body = lines[1:]
        rng.shuffle(body)
        name = patterns[key].replace("*", "20990101")
        (data / "sources" / name).write_text("\n".join([lines[0], *body]) + "\n")


def _content(fp: dict[str, tuple[int, str]]) -> dict[str, tuple[int, str] | int]:
    return {k: (v[0] if k in METADATA else v) for k, v in fp.items()}


def _phase(log: Path) -> str:
    """The last step the killed loader logged."""
    phase = "start"
    for line in log.read_text(errors="replace").splitlines():
        try:
            msg = json.loads(line).get("msg", "")
        except ValueError:
            continue
        if msg:
            phase = msg
    return phase


async def _terminate_loader(dsn: str) -> None:
    # kill -9 of the client: the server notices at its next write; a connection lost for good is cut here.
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(100):
            n = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'fault-loader'"
            )
            if not n:
                return
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


def test_loader_killed_at_random_points(
    scratch_db, test_data_dir, tmp_path, run_service, role_passwords, record
):
    rng = random.Random(20261202)
    data = _data_dir(test_data_dir, tmp_path)
    loader_dsn = scratch_db + "?application_name=fault-loader"
    env = {**os.environ, "DATABASE_URL": loader_dsn, "LOG_LEVEL": "INFO"}
    command = [sys.executable, "-m", "services.ingest", "load", "--data-dir", str(data)]

    # One complete reload first: its duration bounds the kill times, its result is the published state.
    _reshuffle(test_data_dir, data, rng)
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    full_s = time.monotonic() - started
    before = asyncio.run(table_fingerprints(scratch_db))

    aggregate = run_service(
        "services.aggregate",
        {"DATABASE_URL": role_dsn(scratch_db, "rezone_aggregate", role_passwords["rezone_aggregate"])},
    )

    def requests() -> list[urllib.request.Request]:
        return [
            urllib.request.Request(
                f"{aggregate}/v1/{what}",
                data=json.dumps({"communes": codes}).encode(),
                headers={"Content-Type": "application/json"},
            )
            for codes in SELECTIONS
            for what in ("diagnosis", "summary")
        ]

    phases: dict[str, int] = {}
    with Traffic(requests, workers=2) as traffic:
        for i in range(KILLS):
            _reshuffle(test_data_dir, data, rng)
            log = tmp_path / f"load-{i}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            # Anywhere from the first steps into the tile build (views and tiles take most of a load).
            time.sleep(rng.uniform(0.3, 0.7 * full_s))
            if proc.poll() is not None:  # finished before its kill: a published load, the new reference
                before = asyncio.run(table_fingerprints(scratch_db))
                phases["completed"] = phases.get("completed", 0) + 1
                continue
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            asyncio.run(_terminate_loader(scratch_db))
            phase = _phase(log)
            phases[phase] = phases.get(phase, 0) + 1
            after = asyncio.run(table_fingerprints(scratch_db))
            assert _content(after) == _content(before), f"kill {i} during {phase!r} changed published data"
        # The next load finds the interrupted attempt and publishes whole.
        _reshuffle(test_data_dir, data, rng)
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
    final = asyncio.run(table_fingerprints(scratch_db))
    assert _content(final) == _content(before)  # same rows, reordered files
    state = asyncio.run(_state(scratch_db))
    assert state["generation"] == state["attempt"] and state["views_version"] == state["data_version"]
    kills = sum(v for k, v in phases.items() if k != "completed")
    assert kills >= 20, phases
    assert traffic.failures() == {}, traffic.statuses
    record(
        "loader_kills",
        kills=kills,
        completed_before_kill=phases.get("completed", 0),
        phases=phases,
        tables_checked=len(final),
        rows_lost=0,
        full_reload_s=round(full_s, 1),
        requests=sum(traffic.statuses.values()),
        statuses=dict(traffic.statuses),
        p95_ms=traffic.p(0.95),
    )


async def _state(dsn: str) -> asyncpg.Record:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow("SELECT * FROM ref.load_state")
    finally:
        await conn.close()


def _variants(text: bytes) -> dict[str, bytes]:
    lines = text.split(b"\n")
    return {
        "cut_mid_line": text[: len(text) * 2 // 3],
        "cut_at_line": b"\n".join(lines[: len(lines) // 2]) + b"\n",
        "corrupted_bytes": text[:200] + b"\xff\xfe\x00\x13;;;" + text[200:],
        "utf16": text.decode("utf-8", errors="replace").encode("utf-16"),
        "double_encoded": text.decode("utf-8", errors="replace")
        .encode("utf-8")
        .decode("latin-1")
        .encode("utf-8"),
        "empty": b"",
    }


@pytest.mark.asyncio(loop_scope="session")
async def test_broken_files_of_every_source_load_nothing(scratch_db, test_data_dir, tmp_path, record):
    data = _data_dir(test_data_dir, tmp_path)
    manifest = demo.read_manifest(test_data_dir / "demo")
    before = await table_fingerprints(scratch_db)
    outcomes: dict[str, int] = {}
    accepted: list[str] = []
    conn = await asyncpg.connect(scratch_db)
    try:
        for source in SOURCES:
            original = (test_data_dir / "demo" / manifest["files"][source.key]["name"]).read_bytes()
            for variant, content in _variants(original).items():
                if content == original:
                    continue
                for old in (data / "sources").iterdir():
                    old.unlink()
                (data / "sources" / source.pattern.replace("*", "20990101")).write_bytes(content)
                try:
                    await run_load(conn, data_dir=data)
                except ImportRejected as exc:
                    assert exc.file and exc.reason, (source.key, variant)
                else:
                    accepted.append(f"{source.key}:{variant}")
                outcomes[variant] = outcomes.get(variant, 0) + 1
    finally:
        await conn.close()
    assert accepted == [], f"loaded instead of refused: {accepted}"
    assert _content(await table_fingerprints(scratch_db)) == _content(before)
    record(
        "broken_files",
        rejected=sum(outcomes.values()),
        by_variant=outcomes,
        sources=len(SOURCES),
        rows_changed=0,
    )
