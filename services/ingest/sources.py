"""The health sources the pipeline loads: which file, which importer, how it is labelled.

A real file dropped into `<data_dir>/sources/` (matching the pattern) replaces the demo file of the same
source and is registered with is_demo = false; otherwise the generated demo file is loaded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg

from . import finess, indicators, professionals, territory
from .files import SourceFile

Importer = Callable[[asyncpg.Connection, SourceFile], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Source:
    """One health source: its key in ref.data_sources, label, block, real-file pattern and importer."""

    key: str
    label: str
    block: str
    pattern: str
    load: Importer


# Each source is its own transaction. The two small indicator files load before the big DCIR one: into a
# near-empty table they take the bulk path of copy_rows, instead of 140 k per-row key checks after it.
SOURCES: tuple[Source, ...] = (
    Source(
        "finess", "FINESS géographique (extraction etalab)", "structures", finess.FILE_PATTERN, finess.load
    ),
    Source(
        "ecds",
        "Typologie des centres de santé (observatoire e-CDS, ATIH)",
        "structures",
        "ecds-*.csv",
        territory.load_ecds,
    ),
    Source(
        "ps_demographie",
        "Démographie des professionnels de santé libéraux (SNDS)",
        "offre",
        "ps_demographie-*.csv",
        professionals.load_demography,
    ),
    Source(
        "ps_activite",
        "Activité des professionnels de santé libéraux : patients (SNDS)",
        "activite",
        "ps_activite-*.csv",
        professionals.load_activity,
    ),
    Source(
        "ps_actes",
        "Activité des professionnels de santé libéraux : actes et coefficients (SNDS)",
        "activite",
        "ps_actes-*.csv",
        professionals.load_acts,
    ),
    Source(
        "dcir_consommants",
        "Consommants par tranche d'âge (DCIR/SNDS)",
        "population",
        "dcir_consommants-*.csv",
        indicators.load_consumers,
    ),
    Source(
        "atih_indicateurs",
        "Urgences et admissions directes (ATIH)",
        "indicateurs",
        "atih_indicateurs-*.csv",
        partial(indicators.load_indicators, source_key="atih"),
    ),
    Source(
        "dcir_grippe",
        "Vaccination antigrippale (DCIR/SNDS)",
        "indicateurs",
        "dcir_grippe-*.csv",
        partial(indicators.load_indicators, source_key="dcir_grippe"),
    ),
    Source(
        "dcir_indicateurs",
        "Indicateurs de consommation de soins (DCIR/SNDS)",
        "indicateurs",
        "dcir_indicateurs-*.csv",
        partial(indicators.load_indicators, source_key="dcir"),
    ),
    Source(
        "zonage",
        "Zonage médecins généralistes (arrêtés ARS)",
        "territoire",
        "zonage-*.csv",
        territory.load_zonage,
    ),
    Source(
        "qpv",
        "Quartiers prioritaires de la politique de la ville (ANCT)",
        "territoire",
        "qpv-*.csv",
        territory.load_qpv,
    ),
    Source(
        "cpts",
        "CPTS ayant signé l'ACI ou en projet (Assurance Maladie)",
        "territoire",
        "cpts-*.csv",
        territory.load_cpts,
    ),
)


def real_file(sources_dir: Path, source: Source) -> Path | None:
    """The newest real file of a source (names sort by their date), if one was dropped in."""
    if not sources_dir.is_dir():
        return None
    found = sorted(sources_dir.glob(source.pattern))
    return found[-1] if found else None


async def loaded_sha256(conn: asyncpg.Connection) -> dict[str, str]:
    """sha256 of the file each source was last loaded from."""
    return {
        r["source"]: r["sha256"] or ""
        for r in await conn.fetch("SELECT source, sha256 FROM ref.data_sources")
    }
