"""What callers send, checked by one rule everywhere: the INSEE code form, selections, project names, dates.

The gateway validates first; the aggregate and report services validate again (defence in depth) with the same
rules and codes, so that a client sees one vocabulary whichever service answers. Whether a well-formed code
names a selectable commune is the database's answer, not this module's.

The code form is written once, here: the gateway's OpenAPI pattern is built from it, the search's "looks like
a code" test derives from it, and the web app's copy (`web/js/state.js`) is tested against it
(tests/common/test_validation.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from .errors import BadRequest, ServiceError, Unprocessable


def _metropolitan(corsica: str) -> str:
    # Départements 01–95, Corsica as 2A/2B (20 is a postal prefix, never a COG code).
    return rf"0[1-9]|1[0-9]|2[1-9{corsica}]|[3-8][0-9]|9[0-5]"


_OVERSEAS = "97[1-6]"  # Guadeloupe, Martinique, Guyane, La Réunion, Saint-Pierre-et-Miquelon (975), Mayotte


def insee_code_regex(corsica: str = "AB") -> str:
    """The INSEE COG commune code as a regular expression (no anchors), Corsica's letters as given.

    A metropolitan département then three digits; an overseas département (971–976) then two more digits.
    `corsica="ABab"` is the form accepted before upper-casing (the OpenAPI pattern: JSON Schema patterns have
    no case-insensitive flag).
    """
    return rf"(?:{_metropolitan(corsica)})[0-9]{{3}}|{_OVERSEAS}[0-9]{{2}}"


def departement_code_regex(corsica: str = "AB") -> str:
    """A département code (no anchors): the leading part of the commune codes above."""
    return rf"{_metropolitan(corsica)}|{_OVERSEAS}"


CODE_FORM = re.compile(insee_code_regex())
# What the gateway's decoder documents (OpenAPI `pattern`): blanks around and lower-case 2a/2b tolerated.
CODE_PATTERN = rf"^\s*(?:{insee_code_regex('ABab')})\s*$"
DEPARTEMENT_FORM = re.compile(departement_code_regex())
DEPARTEMENT_PATTERN = rf"^\s*(?:{departement_code_regex('ABab')})\s*$"
# Région: the two digits of the COG (01–06 overseas, 11–94 metropolitan). EPCI: its 9-digit SIREN number.
REGION_FORM = re.compile("[0-9]{2}")
EPCI_FORM = re.compile("[0-9]{9}")
# Every 1- to 3-character start of a valid code: a code's last two characters are always free digits.
_STARTS = frozenset(
    start[:n]
    for start in map("".join, itertools.product("0123456789AB", repeat=3))
    if CODE_FORM.fullmatch(start + "00")
    for n in (1, 2, 3)
)


def is_code_start(text: str) -> bool:
    """Whether `text` (upper-cased) can only begin an INSEE code (the search then matches codes)."""
    if not 1 <= len(text) <= 5:
        return False
    rest = text[3:]
    return text[:3] in _STARTS and (not rest or rest.isdigit())


MAX_LISTED = 50  # offenders echoed back; `count` says how many there were
# Default size limit of a selection (each service's `max_communes` setting).
MAX_COMMUNES = 100
# Default number of reports in one batch (POST /api/v1/reports: the gateway's and the report service's
# `max_batch` settings).
MAX_BATCH = 50


class EmptyBatch(BadRequest):
    """A batch without any report."""

    code, title = "empty_batch", "Lot vide"


class TooManyReports(Unprocessable):
    """More reports in one batch than the configured limit."""

    code, title = "too_many_reports", "Trop de rapports dans le lot"


def batch_size(count: int, limit: int) -> None:
    """A batch holds 1 to `limit` reports."""
    if count == 0:
        raise EmptyBatch("le lot ne contient aucun rapport (`reports` vide)")
    if count > limit:
        raise TooManyReports(
            f"{count} rapports : la limite d'un lot est de {limit}", limit=limit, count=count
        )


def in_report(index: int, exc: ServiceError) -> ServiceError:
    """An error of the `index`-th report of a batch (from 1), said in its detail and `report` member."""
    exc.detail = f"rapport n° {index} : {exc.detail}"
    exc.extra["report"] = index
    exc.args = (exc.detail,)
    return exc


class InvalidCommuneCode(BadRequest):
    """A code that is not an INSEE commune code (`offenders` lists them)."""

    code, title = "invalid_commune_code", "Code commune invalide"


class EmptySelection(BadRequest):
    """No commune in the selection."""

    code, title = "empty_selection", "Sélection vide"


class TooManyCommunes(Unprocessable):
    """More distinct communes than the configured limit."""

    code, title = "too_many_communes", "Trop de communes"


class UnknownCommune(Unprocessable):
    """Well-formed codes that are not selectable communes (unknown, or Paris/Lyon/Marseille as a whole)."""

    code, title = "unknown_commune", "Commune inconnue"


class UnknownIndicator(Unprocessable):
    """ALD indicator ids that are not in the list of ALD."""

    code, title = "unknown_indicator", "Indicateur inconnu"


def normalise_codes(raw: Iterable[str], limit: int, form: re.Pattern[str] = CODE_FORM) -> list[str]:
    """Trimmed, upper-cased, de-duplicated codes in first-seen order; the shared errors name the offenders."""
    seen: dict[str, None] = {}
    bad: list[str] = []
    for item in raw:
        code = item.strip().upper()
        if form.fullmatch(code):
            seen.setdefault(code, None)
        elif item not in bad:
            bad.append(item)
    if bad:
        raise InvalidCommuneCode(
            f"{len(bad)} code(s) commune invalide(s) : format attendu 5 caractères INSEE "
            "(2 chiffres, 2A ou 2B, puis 3 chiffres)",
            offenders=bad[:MAX_LISTED],
            count=len(bad),
        )
    if not seen:
        raise EmptySelection("la sélection ne contient aucune commune")
    if len(seen) > limit:
        raise TooManyCommunes(
            f"{len(seen)} communes distinctes : la limite est de {limit}", limit=limit, count=len(seen)
        )
    return list(seen)


# One limit for the project name everywhere (gateway, report service, project files): it is a title, printed
# on the report's cover and in its running header, and written as one line of the project file.
MAX_NAME_LENGTH = 120


class InvalidName(BadRequest):
    """A project name that cannot be printed or saved."""

    code, title = "invalid_name", "Nom de projet invalide"


def project_name(value: str | None, limit: int = MAX_NAME_LENGTH) -> str | None:
    """The project name as given, minus surrounding blanks; control characters and excess length refused.

    Any printable text is accepted — markup characters included — because it only ever reaches Typst as data.
    Line breaks are folded into spaces so that the name stays one line of the project file. Empty: no name.
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


PARIS = ZoneInfo("Europe/Paris")


class InvalidDate(BadRequest):
    """A report date that is not an ISO date."""

    code, title = "invalid_date", "Date invalide"


def report_date(value: str | None) -> dt.date:
    """The date printed on a report or a project file: the one asked for, or today in Europe/Paris."""
    if value is None:
        return dt.datetime.now(PARIS).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidDate(f"date invalide « {value[:40]} » : format attendu AAAA-MM-JJ") from exc
