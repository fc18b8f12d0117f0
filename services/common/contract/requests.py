"""Request bodies: what a client sends to the aggregate and report services.

Frozen, keyword-only and refusing unknown fields: a typo in a client is a 400, not a default.
"""

from __future__ import annotations

import msgspec


class DiagnosisRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /v1/diagnosis`: the selected communes and the ALD indicators wanted beyond the top 5."""

    communes: list[str]
    ald: list[str] = []


class SummaryRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /v1/summary`: the selected communes."""

    communes: list[str]


class ReportRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /v1/report.pdf`: the selection, an optional project name, ALD asked for, report date."""

    communes: list[str]
    name: str | None = None
    ald: list[str] = []
    date: str | None = None  # ISO date printed on the report; today (Europe/Paris) when absent


class ExportRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /v1/export.csv`: the selection."""

    communes: list[str]


class ProjectRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /v1/project`: the selection to save and its name."""

    communes: list[str]
    name: str | None = None
    date: str | None = None
