"""Validation of a selection of communes, repeated here although the gateway does it (defence in depth)."""

from __future__ import annotations

import re

from ..common.errors import BadRequest, Unprocessable

CODE = re.compile(r"^([0-9]{2}|2A|2B)[0-9]{3}$")


class InvalidCommuneCode(BadRequest):
    """A code that is not an INSEE commune code."""

    code, title = "invalid_commune_code", "Code commune invalide"


class EmptySelection(BadRequest):
    """No commune in the request."""

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


def normalise(codes: list[str], limit: int) -> list[str]:
    """Upper-cased, de-duplicated codes in first-seen order; raises the documented errors with offenders."""
    seen: dict[str, None] = {}
    bad: list[str] = []
    for raw in codes:
        code = raw.strip().upper()
        if not CODE.match(code):
            bad.append(raw)
        else:
            seen.setdefault(code, None)
    if bad:
        raise InvalidCommuneCode(f"{len(bad)} code(s) commune invalide(s) : format attendu 5 caractères "
                                 "INSEE (2 chiffres, 2A ou 2B, puis 3 chiffres)", offenders=bad[:100])
    if not seen:
        raise EmptySelection("la sélection ne contient aucune commune")
    if len(seen) > limit:
        raise TooManyCommunes(f"{len(seen)} communes distinctes : la limite est de {limit}",
                              limit=limit, count=len(seen))
    return list(seen)
