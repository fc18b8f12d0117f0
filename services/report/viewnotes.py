"""Notes under the indicator tables: neutralised communes, weights of weighted comparators.

Both are descriptions of what the aggregate service published, never new figures: neutralised communes and
weights come from the diagnosis; the population shares are of the public INSEE populations of the communes.
A note must stay readable for 100 communes, so it says how many communes (and what share of the
population) the value rests on, lists whichever side is shorter, and warns when the value describes a
minority of the territory.
"""

from __future__ import annotations

from services.common.contract import Comparison, Diagnosis

from . import fmt
from .viewcommon import Names, de, french_list

LIST_AT_MOST = 12  # names listed in a note; beyond, counts only (the territory table names every commune)


class Coverage:
    """Populations of the selected communes, to say what share of the territory a value rests on."""

    def __init__(self, d: Diagnosis, names: Names) -> None:
        self.names = names
        self.order = [c.code for c in d.communes]
        self.population = {c.code: c.population or 0 for c in d.communes}
        self.total = sum(self.population.values())

    def share(self, codes: list[str]) -> float | None:
        """Share of the INSEE population of the territory in `codes`, in % (None when unknown)."""
        if self.total <= 0:
            return None
        return 100 * sum(self.population.get(c, 0) for c in codes) / self.total

    def neutralised(self, codes: list[str]) -> str:
        """`2 communes neutralisées sur 13 (Peynier, Puyloubier) ; valeur calculée sur 11 communes, 96 % de la
        population.` — and a warning when the kept communes hold less than half the population."""
        gone = set(codes)
        kept = [c for c in self.order if c not in gone]
        n, k, total = len(codes), len(kept), len(self.order)
        kept_share = self.share(kept)
        kept_text = f"{k} commune{'s' if k > 1 else ''}"
        if kept_share is not None:
            kept_text += f", {_percent(kept_share)} de la population"
        text = f"{n} commune{'s' if n > 1 else ''} neutralisée{'s' if n > 1 else ''} sur {total}"
        if n <= k and n <= LIST_AT_MOST:
            text += f" ({', '.join(self.names(c) for c in codes)})"
        if k == 0:
            text += " : aucune commune retenue."
        elif k < n and k <= LIST_AT_MOST:
            text += f" ; valeur calculée sur {kept_text} : celles " + french_list(
                [de(self.names(c)) for c in kept]
            )
        else:
            text += f" ; valeur calculée sur {kept_text}"
        text = text.rstrip(".") + "."
        if kept_share is not None and k > 0 and kept_share < 50:
            text += (
                " Attention : la valeur ne représente qu’une minorité du territoire "
                f"({_percent(kept_share)} de sa population)."
            )
        return text


def _percent(x: float) -> str:
    """Population shares as whole percents; « moins de 1 % » rather than a misleading 0 %."""
    if 0 < x < 1:
        return f"moins de 1{fmt.NNBSP}%"
    if 99 < x < 100:
        return f"plus de 99{fmt.NNBSP}%"
    return f"{round(x)}{fmt.NNBSP}%"


def weights(level: str, c: Comparison) -> str | None:
    """`Dép. † pondéré : Corse-du-Sud 36 %, La Réunion 64 %` for a weighted comparator, else None."""
    if not c.weighted or not c.weights:
        return None
    parts = [
        f"{w.nom} {_percent(100 * w.weight)}" if w.weight is not None else f"{w.nom} (part non publiée)"
        for w in c.weights
    ]
    label = "Dép. \u2020 pondéré" if level == "departement" else "Rég. \u2020 pondérée"
    return f"{label} : {', '.join(parts)}"
