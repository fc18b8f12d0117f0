"""The ACI: CPTS size band and the financing envelope in force."""

from __future__ import annotations

from typing import Literal

import msgspec


class AciLine(msgspec.Struct, kw_only=True):
    """One dated financing parameter (annual maximum in euros) for the territory's size."""

    instrument: str  # "ACI 2019", "Avenant 2"
    valid_from: str  # ISO date
    mission: str
    mission_label: str
    volet: str
    volet_label: str
    optional: bool
    amount: int | None  # null when not known for this size
    verified: bool
    note: str | None


class AciMission(msgspec.Struct, kw_only=True):
    """Annual maximum of one mission under the base schedule."""

    mission: str
    label: str
    optional: bool
    total: int
    lines: list[AciLine]


class Aci(msgspec.Struct, kw_only=True):
    """CPTS size band from the INSEE population and the financing envelope in force."""

    population: int
    size: Literal[1, 2, 3, 4] | None  # null: « non déterminée » (a commune without INSEE population)
    size_label: str
    thresholds: list[int]
    near_threshold: bool
    warning: str | None
    schedule: str  # base schedule the missions come from
    missions: list[AciMission]
    total: int | None  # maximum annual total of the base schedule; null when the size is not determined
    amendments: list[AciLine]  # later dated rows (avenants), with their verification flag
