"""Validation of what callers send: commune selections, project names and report dates.

The aggregate service validates selections too (and checks membership in the COG); the report service checks
syntax and size first so that a bad request costs neither a diagnosis nor a geometry query. The error codes
are the aggregate's, so that clients see one vocabulary.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from zoneinfo import ZoneInfo

from services.common.errors import BadRequest, Unprocessable

CODE = re.compile(r"^([0-9]{2}|2A|2B)[0-9]{3}$")
PARIS = ZoneInfo("Europe/Paris")


class InvalidCommuneCode(BadRequest):
    """A code that is not an INSEE commune code."""

    code, title = "invalid_commune_code", "Code commune invalide"


class EmptySelection(BadRequest):
    """No commune in the request."""

    code, title = "empty_selection", "Sélection vide"


class TooManyCommunes(Unprocessable):
    """More distinct communes than the configured limit."""

    code, title = "too_many_communes", "Trop de communes"


class InvalidName(BadRequest):
    """A project name that cannot be printed or saved."""

    code, title = "invalid_name", "Nom de projet invalide"


class InvalidDate(BadRequest):
    """A report date that is not an ISO date."""

    code, title = "invalid_date", "Date invalide"


def communes(codes: list[str], limit: int) -> list[str]:
    """Upper-cased, de-duplicated codes in first-seen order."""
    seen: dict[str, None] = {}
    bad: list[str] = []
    for raw in codes:
        code = raw.strip().upper()
        if CODE.match(code):
            seen.setdefault(code, None)
        else:
            bad.append(raw)
    if bad:
        raise InvalidCommuneCode(
            f"{len(bad)} code(s) commune invalide(s) : format attendu 5 caractères INSEE "
            "(2 chiffres, 2A ou 2B, puis 3 chiffres)",
            offenders=bad[:100],
        )
    if not seen:
        raise EmptySelection("la sélection ne contient aucune commune")
    if len(seen) > limit:
        raise TooManyCommunes(
            f"{len(seen)} communes distinctes : la limite est de {limit}", limit=limit, count=len(seen)
        )
    return list(seen)


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
