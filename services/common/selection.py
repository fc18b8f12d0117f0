"""Selections of communes: the error vocabulary every service shares, and the syntactic normalisation.

The gateway validates first; the aggregate and report services validate again (defence in depth) with the same
codes, so that a client sees one vocabulary whichever service answers. Whether a well-formed code names a
selectable commune is the database's answer, not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import BadRequest, Unprocessable

# Form of an INSEE COG code: two digits or 2A/2B, then three digits.
CODE_FORM = re.compile(r"([0-9]{2}|2A|2B)[0-9]{3}")
MAX_LISTED = 50  # offenders echoed back; `count` says how many there were
# Default size limit of a selection (each service's `max_communes` setting).
MAX_COMMUNES = 100


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
