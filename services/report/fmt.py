"""French number formatting for the report (typographic) and the CSV (spreadsheet-friendly).

A masked value is never formatted as a number: callers pass None and get the masked wording.
"""

from __future__ import annotations

import datetime as dt

NNBSP = "\u202f"  # thousands separator and before % (French typography)
MINUS = "\u2212"
MASKED = "secret statistique"
NOT_APPLICABLE = "sans objet"  # nothing to measure (no professional, nobody concerned): a public fact
NOT_COMPUTABLE = "–"

_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def integer(n: int | None) -> str:
    """`100 647` with a narrow no-break space; None reads « secret statistique »."""
    if n is None:
        return MASKED
    return f"{n:,}".replace(",", NNBSP)


def decimal(x: float | None, digits: int = 1) -> str:
    """`10,7`; None reads « secret statistique »."""
    if x is None:
        return MASKED
    return f"{x:,.{digits}f}".replace(",", NNBSP).replace(".", ",")


def rate(x: float | None, unit: str) -> str:
    """A rate in its unit: `10,7 %` for percentages, `13,2` per 100 consumers or for ratios."""
    if x is None:
        return MASKED
    return f"{decimal(x)}{NNBSP}%" if unit == "pct" else decimal(x)


def difference(d: float | None) -> str:
    """Signed difference in points (`+1,4`, `−0,7`, `0,0`); not computable when a side is masked."""
    if d is None:
        return NOT_COMPUTABLE
    if abs(d) < 0.05:
        return "0,0"
    return ("+" if d > 0 else MINUS) + decimal(abs(d))


def share(x: float | None) -> str:
    """A share already in percent, e.g. a neutralisation rate: `15,4 %`."""
    return rate(x, "pct")


def euros(n: int | None) -> str:
    """`220 000 €`; unknown amounts read « non publié »."""
    return "non publié" if n is None else f"{integer(n)}{NNBSP}€"


def date_fr(d: dt.date) -> str:
    """`31/12/2024`."""
    return d.strftime("%d/%m/%Y")


def date_long(d: dt.date) -> str:
    """`31 décembre 2024`."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"
