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

# Kills of incremental reloads and of forced ones (the reference deleted and re-inserted, every view and tile
# rebuilt): at least 16 + 4 kills land before their load ends, ≥ 20 across every phase of a load.
KILLS = int(os.environ.get("REZONE_RELIABILITY_KILLS", "17"))
FORCED_KILLS = int(os.environ.get("REZONE_RELIABILITY_FORCED_KILLS", "5"))
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


class Loads:
    """Real loader processes on a scratch database, killed (-9) or run to the end, with an aggregate service
    (its own role) answering diagnoses and summaries throughout."""

    def __init__(self, scratch_db: str, test_data_dir: Path, tmp_path: Path, force: bool) -> None:
        self.db, self.test_data_dir, self.tmp = scratch_db, test_data_dir, tmp_path
        self.data = _data_dir(test_data_dir, tmp_path)
        dsn = scratch_db + "?application_name=fault-loader"
        self.env = {**os.environ, "DATABASE_URL": dsn, "LOG_LEVEL": "INFO"}
        self.command = [sys.executable, "-m", "services.ingest", "load", "--data-dir", str(self.data)]
        if force:
            self.command.append("--force")
        self.phases: dict[str, int] = {}
        self.reference: dict[str, tuple[int, str]] = {}

    def complete(self, rng: random.Random) -> float:
        """One reload to its end (it becomes the published state); its seconds."""
        _reshuffle(self.test_data_dir, self.data, rng)
        started = time.monotonic()
        done = subprocess.run(self.command, cwd=ROOT, env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        self.reference = asyncio.run(table_fingerprints(self.db))
        return time.monotonic() - started

    def kill_after(self, i: int, seconds: float, rng: random.Random) -> None:
        """Start a reload, kill it after `seconds`; the published data must not have changed."""
        _reshuffle(self.test_data_dir, self.data, rng)
        log = self.tmp / f"load-{i}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        time.sleep(seconds)
        if proc.poll() is not None:  # finished before its kill: a published load, the new reference
            self.reference = asyncio.run(table_fingerprints(self.db))
            self.phases["completed"] = self.phases.get("completed", 0) + 1
            return
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        asyncio.run(_terminate_loader(self.db))
        phase = _phase(log)
        self.phases[phase] = self.phases.get(phase, 0) + 1
        after = asyncio.run(table_fingerprints(self.db))
        changed = f"kill {i} during {phase!r} changed published data"
        assert _content(after) == _content(self.reference), changed

    def kills(self) -> int:
        return sum(v for k, v in self.phases.items() if k != "completed")

    def traffic(self, run_service, role_passwords) -> Traffic:
        aggregate = run_service(
            "services.aggregate",
            {"DATABASE_URL": role_dsn(self.db, "rezone_aggregate", role_passwords["rezone_aggregate"])},
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

        return Traffic(requests, workers=2)

    def check_and_record(
        self, before: dict, traffic: Traffic, record, name: str, minimum: int, **figures: object
    ) -> None:
        """After the completing load: the content of `before` again, published whole, at least `minimum`
        kills before their load ended, every request answered; the figures kept for docs/reliability.md."""
        assert _content(self.reference) == _content(before)  # same rows, reordered files
        state = asyncio.run(_state(self.db))
        assert state["generation"] == state["attempt"] and state["views_version"] == state["data_version"]
        assert self.kills() >= minimum, self.phases
        assert traffic.failures() == {}, traffic.statuses
        record(
            name,
            kills=self.kills(),
            completed_before_kill=self.phases.get("completed", 0),
            phases=self.phases,
            tables_checked=len(self.reference),
            rows_lost=0,
            requests=sum(traffic.statuses.values()),
            statuses=dict(traffic.statuses),
            p95_ms=traffic.p(0.95),
            **figures,
        )


def test_loader_killed_at_random_points(
    scratch_db, test_data_dir, tmp_path, run_service, role_passwords, record
):
    rng = random.Random(20261202)
    loads = Loads(scratch_db, test_data_dir, tmp_path, force=False)
    # One complete reload first: its duration bounds the kill times, its result is the published state.
    full_s = loads.complete(rng)
    with loads.traffic(run_service, role_passwords) as traffic:
        for i in range(KILLS):
            # Anywhere from the first steps into the tile build (views and tiles take most of a load).
            loads.kill_after(i, rng.uniform(0.3, 0.7 * full_s), rng)
        # The next load finds the interrupted attempt and publishes whole.
        before = loads.reference
        loads.complete(rng)
    loads.check_and_record(before, traffic, record, "loader_kills", KILLS - 1, full_reload_s=round(full_s, 1))


def test_loader_killed_during_forced_reloads(
    scratch_db, test_data_dir, tmp_path, run_service, role_passwords, record
):
    # A forced reload deletes and re-inserts the reference (communes, contours), then rebuilds every view and
    # the tile tables: the phases an incremental reload never enters. One kill in each fifth of its duration.
    rng = random.Random(20261203)
    loads = Loads(scratch_db, test_data_dir, tmp_path, force=True)
    template = asyncio.run(table_fingerprints(scratch_db))
    full_s = loads.complete(rng)
    # The same sources give the same published content, byte for byte, whatever the physical order of rows.
    assert _content(loads.reference) == _content(template)
    with loads.traffic(run_service, role_passwords) as traffic:
        fifth = 0.95 * full_s / FORCED_KILLS
        for i in range(FORCED_KILLS):
            loads.kill_after(i, rng.uniform(0.3 + i * fifth, (i + 1) * fifth), rng)
        before = loads.reference
        final_s = loads.complete(rng)
    loads.check_and_record(
        before,
        traffic,
        record,
        "forced_reload_kills",
        FORCED_KILLS - 1,
        full_reload_s=round(full_s, 1),
        final_reload_s=round(final_s, 1),
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
