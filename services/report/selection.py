"""Validation of what callers send: commune selections, project names and report dates.

Selections are checked for form and size with `services.common.selection` first, so that a bad request costs
neither a diagnosis nor a geometry query; membership in the COG is the aggregate's and the database's answer.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from zoneinfo import ZoneInfo

from services.common.errors import BadRequest

PARIS = ZoneInfo("Europe/Paris")


class InvalidName(BadRequest):
    """A project name that cannot be printed or saved."""

    code, title = "invalid_name", "Nom de projet invalide"


class InvalidDate(BadRequest):
    """A report date that is not an ISO date."""

    code, title = "invalid_date", "Date invalide"


def name(value: str | None, limit: int) -> str | None:
    """The project name as given, minus surrounding blanks; control characters and excess length refused.

    Any printable text is accepted — markup characters included — because it only ever reaches Typst as data.
    Line breaks are folded into spaces so that the name stays one line of the project file.
    """
    if value is None:
        return None
    text = value.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")
    text = text.replace("\u2028", " ").replace("\u2029", " ").strip()
    if len(text) > limit:
        raise InvalidName(f"nom de projet trop long : {len(text)} caractères, limite {limit}", limit=limit)
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidName("le nom de projet contient des caractères de contrôle")
    return text or None


def report_date(value: str | None) -> dt.date:
    """The date printed on a report: the one asked for, or today in Europe/Paris."""
    if value is None:
        return dt.datetime.now(PARIS).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidDate(f"date invalide « {value[:40]} » : format attendu AAAA-MM-JJ") from exc
