"""Helpers shared by the view builders: French collation, display names of communes, comparator cells."""

from __future__ import annotations

from collections.abc import Iterable

from services.common.contract import Comparison, Diagnosis
from services.common.toponyms import sort_key

from . import fmt


def collate(name: str) -> str:
    """Sort key close to French dictionary order, as INSEE lists: article, accents and case ignored."""
    return sort_key(name)


class Names:
    """Display names of the selected communes, with the département added to homonyms."""

    def __init__(self, diagnosis: Diagnosis) -> None:
        counts: dict[str, int] = {}
        for c in diagnosis.communes:
            counts[c.nom] = counts.get(c.nom, 0) + 1
        self.by_code = {
            c.code: (f"{c.nom} ({c.departement})" if counts[c.nom] > 1 else c.nom) for c in diagnosis.communes
        }

    def __call__(self, code: str) -> str:
        """Display name of a code."""
        return self.by_code.get(code, code)

    def join(self, codes: Iterable[str]) -> str:
        """`A, B, C`."""
        return ", ".join(self(c) for c in codes)


def comparator(c: Comparison, unit: str) -> str:
    """A comparator cell: the value in its unit, « † » when weighted over several units."""
    return fmt.rate(c.value, unit) + ("\u2020" if c.weighted and c.value is not None else "")
