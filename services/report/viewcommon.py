"""Helpers shared by the view builders: text safety, French collation and elision, names, comparator cells."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from services.common.contract import Comparison, Diagnosis
from services.common.contract.territory import Commune, UnitGroup
from services.common.toponyms import sort_key

from . import fmt

# Embedding and override controls (U+202A–U+202E) and isolates (U+2066–U+2069) reorder what follows them:
# « \u202eesreveR » displays as another name. They are removed from every name the report prints; the
# marks U+200E/U+200F only set the direction of neutral characters and cannot reorder letters, so they stay.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# A word starting with a vowel (accented or not), h or y takes « d' »; a leading article contracts.
_VOWEL = re.compile(r"[aeiouyhàâäéèêëîïôöùûüœæ]", re.IGNORECASE)


# « de » before a proper name in a composed name or sentence (« CPTS de Arles », « CPTS de Le Tholonet »):
# elided or contracted as French writes it.
_DE_VOWEL = re.compile(r"\b([Dd])e (?=[AEIOUYHÀÂÄÉÈÊËÎÏÔÖÙÛÜŒÆ])")
_DE_ARTICLE = re.compile(r"\b([Dd])e (Le|Les) (?=\w)")


def elide(text: str) -> str:
    """`de Arles` → `d’Arles`, `de Le Tholonet` → `du Tholonet`, `de Les Pennes` → `des Pennes`."""
    text = _DE_ARTICLE.sub(lambda m: f"{m.group(1)}{'u' if m.group(2) == 'Le' else 'es'} ", text)
    return _DE_VOWEL.sub(lambda m: f"{m.group(1)}\u2019", text)


def safe(text: str) -> str:
    """A name as printed: bidirectional controls removed (so that it cannot display as another name) and
    « de » elided before a vowel or contracted with an article."""
    return elide(_BIDI_CONTROLS.sub("", text))


def de(name: str) -> str:
    """« de » before a name with French elision and contraction: d'Aix, du Vernet (Le Vernet), des Mées,
    de La Ciotat, de L'Isle-sur-la-Sorgue, de Gardanne."""
    if name.startswith(("Le ", "le ")):
        return "du " + name[3:]
    if name.startswith(("Les ", "les ")):
        return "des " + name[4:]
    if name.startswith(("La ", "la ", "L'", "l'", "L\u2019", "l\u2019")):
        return "de " + name
    return ("d\u2019" if _VOWEL.match(name) else "de ") + name


def french_list(items: list[str]) -> str:
    """`A`, `A et B`, `A, B et C`."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " et " + items[-1] if items else ""


def collate(name: str) -> str:
    """Sort key close to French dictionary order, as INSEE lists: article, accents and case ignored."""
    return sort_key(name)


def by_departement(d: Diagnosis) -> list[tuple[UnitGroup, list[Commune]]]:
    """The selected communes of each département in French name order: the territory table's order, which
    the other per-commune lists of the report follow."""
    by_code = {c.code: c for c in d.communes}
    return [
        (
            g,
            sorted((by_code[x] for x in g.communes if x in by_code), key=lambda c: (collate(c.nom), c.code)),
        )
        for g in d.territory.departements
    ]


class Names:
    """Display names of the selected communes, with the département added to homonyms."""

    def __init__(self, diagnosis: Diagnosis) -> None:
        counts: dict[str, int] = {}
        for c in diagnosis.communes:
            counts[c.nom] = counts.get(c.nom, 0) + 1
        self.by_code = {
            c.code: safe(f"{c.nom} ({c.departement})" if counts[c.nom] > 1 else c.nom)
            for c in diagnosis.communes
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


State = Literal["ok", "masked", "sans_objet"]
_NOT_APPLICABLE = ("sans_objet", "sans objet", "not_applicable", "none")


def status(figure: object) -> State:
    """What a published figure is: a value, a value hidden by secrecy, or nothing to measure.

    The contract marks « nothing to measure » (0 professionals, no population concerned) either with a
    `status` field or with a reason saying « sans objet »; both are read, so that the report prints
    « sans objet » rather than « secret statistique » whichever shape the aggregate service sends.
    """
    declared = getattr(figure, "status", None)
    if isinstance(declared, str) and declared.lower() in _NOT_APPLICABLE:
        return "sans_objet"
    reason = getattr(figure, "reason", None)
    if getattr(figure, "masked", False):
        return "sans_objet" if isinstance(reason, str) and "sans objet" in reason.lower() else "masked"
    if getattr(figure, "value", 0) is None:
        return "sans_objet"
    return "ok"


def cell(state: State, text: str) -> str:
    """The printed value: its text, « secret statistique » or « sans objet »."""
    return text if state == "ok" else fmt.MASKED if state == "masked" else fmt.NOT_APPLICABLE
