"""From the masked Diagnosis (and the drawn map) to the ReportView the template prints.

Only formatting and arrangement happen here: every figure comes from the aggregate service, which applied
the secrecy rules. A value the contract marks as masked is printed « secret statistique »; a partial value
carries « * » and a note naming its neutralised communes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from functools import lru_cache
from importlib.resources import files
from typing import Any

from services.common.contract import (
    Diagnosis,
    Indicator,
)

from . import fmt, viewoffer
from .model import (
    AgeBar,
    AgeView,
    CommuneRow,
    Contact,
    Cover,
    Definition,
    DepGroup,
    IndicatorRow,
    IndicatorTable,
    MapView,
    ReportView,
    SourceRow,
    TerritoryView,
)
from .viewcommon import Names, collate, comparator

NAME_SHORT = 160  # cover title; a longer name is printed in full, in small type, at the end
NAME_HEADER = 70  # running header
COVER_LIST = 12  # départements named on the cover (all of them are in the territory table)
ALERT_LENGTH = 300  # an alert listing many communes is cut on the cover; the tables give every commune
BLOCKS = {
    "population": "Population",
    "territoire": "Territoire",
    "indicateurs": "Indicateurs missions",
    "offre": "Démographie des professionnels",
    "activite": "Activité des professionnels",
    "structures": "Structures",
}


@lru_cache(maxsize=1)
def contacts_data() -> dict[str, Any]:
    """The packaged contacts file (public, stable contacts only)."""
    data: dict[str, Any] = json.loads(
        files(__package__).joinpath("contacts.json").read_text(encoding="utf-8")
    )
    return data


def indicator_table(title: str, items: list[Indicator], names: Names, n_communes: int) -> IndicatorTable:
    """One table of indicators with numbered notes for masked and partial rows."""
    rows: list[IndicatorRow] = []
    notes: list[str] = []
    sources: list[str] = []
    weighted = False
    shared: dict[str, str] = {}  # masking reason -> its mark: rows masked for the same reason share a note
    for ind in items:
        mark = ""
        if ind.masked or ind.status == "sans_objet":  # the reason carries its own label, printed once
            reason = ind.reason or "secret statistique"
            if reason not in shared:
                notes.append(f"({len(notes) + 1}) {reason[0].upper()}{reason[1:]}.".replace("..", "."))
                shared[reason] = f"({len(notes)})"
            mark = shared[reason]
        elif ind.partial:
            n = len(ind.neutralised_communes)
            notes.append(
                f"({len(notes) + 1}) {ind.label} : commune(s) neutralisée(s) : "
                f"{names.join(ind.neutralised_communes)} — {n} sur {n_communes}, taux de communes "
                f"neutralisées {fmt.share(ind.neutralised_rate)}."
            )
            mark = f"({len(notes)})"
        cmp = ind.comparisons
        weighted = weighted or any(c.weighted for c in (cmp.departement, cmp.region))
        ter = "–" if ind.status == "sans_objet" else fmt.rate(ind.value, ind.unit)
        ter += "*" if ind.partial and not ind.masked else ""
        rows.append(
            IndicatorRow(
                label=ind.label,
                ter=ter,
                count="" if ind.numerator is None else fmt.integer(ind.numerator),
                dep=comparator(cmp.departement, ind.unit),
                reg=comparator(cmp.region, ind.unit),
                fr=comparator(cmp.france, ind.unit),
                d_dep=fmt.difference(cmp.departement.difference),
                d_reg=fmt.difference(cmp.region.difference),
                d_fr=fmt.difference(cmp.france.difference),
                masked=ind.masked,
                mark=mark,
            )
        )
        src = f"{ind.source} ({ind.period})" if ind.period else ind.source
        if src not in sources:
            sources.append(src)
    return IndicatorTable(title=title, rows=rows, notes=notes, sources=sources, weighted=weighted)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n].rstrip() + "…"


def _cover(d: Diagnosis, name: str | None, date: dt.date) -> Cover:
    text = (name or "").strip()
    dep_names = [f"{g.nom} ({g.code})" for g in d.territory.departements]
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
        regions=[g.nom for g in d.territory.regions],
        demo=d.demo,
        data_version=d.data_version,
        sources=sources,
        alerts=[_cut(a.message, ALERT_LENGTH) for a in d.alerts],
    )


def _territory(d: Diagnosis) -> TerritoryView:
    by_code = {c.code: c for c in d.communes}
    groups = []
    for g in d.territory.departements:
        rows = [
            CommuneRow(
                nom=c.nom + (" *" if c.partial else ""),
                code=c.code,
                population=fmt.integer(c.population) if c.population is not None else "inconnue",
                qpv=str(c.qpv_count),
                zonage=c.zonage or "–",
                cpts=c.cpts.nom if c.cpts else "–",
            )
            for c in sorted(
                (by_code[x] for x in g.communes if x in by_code), key=lambda c: (collate(c.nom), c.code)
            )
        ]
        groups.append(DepGroup(title=f"{g.nom} ({g.code})", population=fmt.integer(g.population), rows=rows))
    t = d.territory
    notes = [
        f"* Nombre de QPV distincts : un même quartier prioritaire peut toucher plusieurs communes "
        f"(somme des QPV par commune : {t.qpv_commune_sum})."
    ]
    if t.population_partial or any(c.partial for c in d.communes):
        missing = [c.nom for c in d.communes if c.partial]
        notes.append("Données partielles (population ou contour inconnus) pour : " + ", ".join(missing) + ".")
    if len(t.departements) > 1 or len(t.regions) > 1:
        notes.append(
            "Le territoire compte des communes de plusieurs départements ou régions : les comparaisons "
            "départementales et régionales sont pondérées par la part du territoire dans chacun "
            "(voir Méthodologie)."
        )
    return TerritoryView(
        groups=groups,
        total_communes=f"{t.commune_count} commune(s)",
        total_population=fmt.integer(t.population) + (" (partielle)" if t.population_partial else ""),
        total_qpv=f"{t.qpv_count}*",
        total_zonage=f"{t.zonage_count} sur {t.commune_count} (ZIP {t.zip_count}, ZAC {t.zac_count})",
        notes=notes,
    )


def _age(d: Diagnosis, names: Names) -> AgeView:
    p = d.population
    bars = []
    for b in p.age_bands:
        dep = b.comparisons.departement if b.comparisons else None
        bars.append(
            AgeBar(
                label=b.label,
                share=None if b.masked else b.share,
                share_text=fmt.share(b.share) if not b.masked else fmt.MASKED,
                dep=dep.value if dep else None,
                dep_text=fmt.share(dep.value) if dep else fmt.NOT_COMPUTABLE,
            )
        )
    notes = []
    if not p.age_comparison and p.age_comparison_reason:
        notes.append(p.age_comparison_reason)
    if p.age_neutralised_communes:
        notes.append("Commune(s) neutralisée(s) : " + names.join(p.age_neutralised_communes) + ".")
    weighted = any(b.comparisons and b.comparisons.departement.weighted for b in p.age_bands)
    return AgeView(
        available=any(b.share is not None for b in bars),
        bars=bars,
        total=fmt.integer(p.age_total) if p.age_total is not None else fmt.MASKED,
        comparison_label="Département (moyenne pondérée)" if weighted else "Département",
        notes=notes,
    )


def _definitions(groups: Iterable[Iterable[Indicator]]) -> list[Definition]:
    seen: set[str] = set()
    out = []
    for group in groups:
        for ind in group:
            if ind.id in seen:
                continue
            seen.add(ind.id)
            out.append(
                Definition(
                    label=ind.label,
                    definition=ind.definition,
                    ratio=f"{ind.numerator_label} / {ind.denominator_label}",
                    source=f"{ind.source} ({ind.period})" if ind.period else ind.source,
                )
            )
    return out


def _contacts(d: Diagnosis) -> list[Contact]:
    regions = contacts_data()["regions"]
    out = []
    for g in d.territory.regions:
        r = regions.get(g.code)
        if r is not None:
            out.append(
                Contact(
                    region=r["nom"],
                    ars=r["ars"],
                    ars_url=r["ars_url"],
                    paps_url=r["paps_url"],
                    paps_verified=r["paps_verified"],
                )
            )
    return out


def build(d: Diagnosis, map_view: MapView, *, name: str | None, date: dt.date) -> ReportView:
    """The complete view of one report."""
    names = Names(d)
    n = d.territory.commune_count
    dep_names = {g.code: g.nom for g in d.territory.departements}
    titles = [
        " · ".join(f"{dep_names.get(c, c)} ({c})" for c in p.departements)
        if len(p.departements) <= 3
        else f"{len(p.departements)} départements"
        for p in map_view.panels
    ]
    legend = {g.key: g.label for g in d.offer.structures}
    order = list(legend)
    map_view.legend.sort(key=lambda e: order.index(e.key) if e.key in order else len(order))
    prevalence = [
        indicator_table("Top 5 des affections de longue durée du territoire", d.prevalences.top5, names, n)
    ]
    if d.prevalences.requested:
        prevalence.append(indicator_table("Autres ALD demandées", d.prevalences.requested, names, n))
    return ReportView(
        cover=_cover(d, name, date),
        map=map_view,
        map_titles=titles,
        legend_labels=legend,
        territory=_territory(d),
        age=_age(d, names),
        population=indicator_table(
            "ALD et complémentaire santé solidaire (C2S)", d.population.indicators, names, n
        ),
        access=indicator_table("Accès aux soins", d.access, names, n),
        prevalence=prevalence,
        prevention=indicator_table("Prévention", d.prevention, names, n),
        vaccination=indicator_table("Vaccination", d.vaccination, names, n),
        offer=viewoffer.offer(d, names),
        aci=viewoffer.aci(d),
        secrecy_rules=[r.text for r in d.secrecy_rules],
        definitions=_definitions(
            [
                d.population.indicators,
                d.access,
                d.prevalences.top5,
                d.prevalences.requested,
                d.prevention,
                d.vaccination,
            ]
        ),
        contacts=_contacts(d),
        national={k: v for k, v in contacts_data()["national"].items()},
    )
