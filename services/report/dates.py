"""The date printed on a report and written in a project file.

Selections and project names are checked by `services.common.validation`, the rules every service shares.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from services.common.errors import BadRequest

PARIS = ZoneInfo("Europe/Paris")


class InvalidDate(BadRequest):
    """A report date that is not an ISO date."""

    code, title = "invalid_date", "Date invalide"


def report_date(value: str | None) -> dt.date:
    """The date printed on a report: the one asked for, or today in Europe/Paris."""
    if value is None:
        return dt.datetime.now(PARIS).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidDate(f"date invalide « {value[:40]} » : format attendu AAAA-MM-JJ") from exc
