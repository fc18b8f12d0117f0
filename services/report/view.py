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

from . import fmt, viewcharts, viewcover, viewnotes, viewoffer
from .model import (
    AgeBar,
    AgeView,
    BaseRow,
    CommuneRow,
    Contact,
    Definition,
    DepGroup,
    IndicatorRow,
    IndicatorTable,
    MapView,
    QpvRow,
    ReportView,
    TerritoryView,
)
from .viewcommon import Names, by_departement, cell, comparator, safe, status
from .viewnotes import Coverage


@lru_cache(maxsize=1)
def contacts_data() -> dict[str, Any]:
    """The packaged contacts file (public, stable contacts only)."""
    data: dict[str, Any] = json.loads(
        files(__package__).joinpath("contacts.json").read_text(encoding="utf-8")
    )
    return data


def indicator_table(title: str, items: list[Indicator], names: Names, coverage: Coverage) -> IndicatorTable:
    """One table of indicators with numbered notes: one per masking reason, one per set of neutralised
    communes (rows sharing a reason or a set share the mark), and the weights of weighted comparators."""
    rows: list[IndicatorRow] = []
    notes: list[str] = []
    sources: list[str] = []
    marks: dict[object, str] = {}  # reason or neutralised set -> its mark

    def mark(key: object, text: str) -> str:
        if key not in marks:
            notes.append(f"({len(notes) + 1}) {text}")
            marks[key] = f"({len(notes)})"
        return marks[key]

    weights: dict[str, list[str]] = {}  # weights text -> labels of the rows it applies to
    for ind in items:
        state = status(ind)
        m = ""
        if state == "sans_objet":
            reason = ind.reason or "aucune population concernée sur le territoire"
            m = mark(("na", reason), f"Sans objet : {_strip_label(reason, 'sans objet')}.".replace("..", "."))
        elif state == "masked":
            reason = ind.reason or "secret statistique"
            m = mark(("masked", reason), f"{reason[0].upper()}{reason[1:]}.".replace("..", "."))
        elif ind.partial:
            key = ("partial", tuple(ind.neutralised_communes))
            m = mark(key, "Valeur partielle : " + coverage.neutralised(list(ind.neutralised_communes)))
        cmp = ind.comparisons
        for level, c in (("departement", cmp.departement), ("region", cmp.region)):
            text = viewnotes.weights(level, c)
            if text is not None:
                weights.setdefault(text, []).append(ind.label)
        ter = cell(state, fmt.rate(ind.value, ind.unit)) + ("*" if ind.partial and state == "ok" else "")
        rows.append(
            IndicatorRow(
                label=ind.label,
                ter=ter,
                count="" if state != "ok" else fmt.integer(ind.numerator),
                dep=comparator(cmp.departement, ind.unit),
                reg=comparator(cmp.region, ind.unit),
                fr=comparator(cmp.france, ind.unit),
                d_dep=fmt.difference(cmp.departement.difference),
                d_reg=fmt.difference(cmp.region.difference),
                d_fr=fmt.difference(cmp.france.difference),
                masked=state != "ok",
                mark=m,
            )
        )
        src = f"{ind.source} ({ind.period})" if ind.period else ind.source
        if src not in sources:
            sources.append(src)
    weight_notes = _weight_notes(weights, len(items))
    return IndicatorTable(
        title=title,
        rows=rows,
        notes=notes,
        sources=sources,
        weighted=bool(weight_notes),
        weights=weight_notes,
        dots=viewcharts.dots(items),
    )


def _strip_label(reason: str, label: str) -> str:
    """« Sans objet : sans objet, aucun … » never: the label is not repeated in its reason."""
    low = reason.lower()
    if low.startswith(label):
        reason = reason[len(label) :].lstrip(" :,—-")
    return reason or "aucune population concernée sur le territoire"


def _weight_notes(weights: dict[str, list[str]], n_rows: int) -> list[str]:
    """Where the weights are the same for every row (one denominator), one line per level; otherwise the
    rows each set applies to (weights are each indicator's own denominator shares)."""
    by_level: dict[str, list[tuple[str, list[str]]]] = {}
    for text, labels in weights.items():
        by_level.setdefault(text.split(" : ", 1)[0], []).append((text, labels))
    out = []
    for sets in by_level.values():
        if len(sets) == 1:
            out.append(sets[0][0] + ".")
        else:
            out.extend(f"{text} ({', '.join(labels)})." for text, labels in sets)
    return out


def _territory(d: Diagnosis, names: Names, qpv_names: dict[str, str]) -> TerritoryView:
    groups = []
    for g, communes in by_departement(d):
        rows = [
            CommuneRow(
                # Name and code in one cell: a column less of 100 rows (~4 % of the compile); the code
                # tells homonyms apart.
                commune=f"{safe(c.nom)} ({c.code})" + (" *" if c.partial else ""),
                population=fmt.integer(c.population) if c.population is not None else "non disponible",
                qpv=str(c.qpv_count),
                zonage=c.zonage or "–",
                cpts=safe(c.cpts.nom) if c.cpts else "–",
            )
            for c in communes
        ]
        groups.append(
            DepGroup(title=f"{safe(g.nom)} ({g.code})", population=fmt.integer(g.population), rows=rows)
        )
    t = d.territory
    notes = []
    if t.qpv_count:
        notes.append(
            f"\u2021 Nombre de quartiers prioritaires (QPV) distincts : un même quartier peut s’étendre sur "
            f"plusieurs communes (somme des QPV par commune : {t.qpv_commune_sum}). Liste ci-dessous."
        )
    if t.population_partial or any(c.partial for c in d.communes):
        missing = [names(c.code) for c in d.communes if c.partial]
        notes.append(
            "* Données partielles (population ou contour inconnus) pour : " + ", ".join(missing) + "."
        )
    if len(t.departements) > 1 or len(t.regions) > 1:
        notes.append(
            "Le territoire compte des communes de plusieurs départements ou régions : les comparaisons "
            "départementales et régionales sont pondérées par la part du territoire dans chacun "
            "(voir Méthodologie)."
        )
    touching: dict[str, list[str]] = {}
    for c in d.communes:
        for q in c.qpv:
            touching.setdefault(q, []).append(names(c.code))
    qpv = [
        QpvRow(
            code=q, nom=safe(qpv_names.get(q, "nom non disponible")), communes=", ".join(touching.get(q, []))
        )
        for q in sorted(set(t.qpv_codes) | set(touching))
    ]
    return TerritoryView(
        groups=groups,
        total_communes=f"{t.commune_count} commune{'s' if t.commune_count > 1 else ''}",
        total_population=fmt.integer(t.population) + (" (partielle)" if t.population_partial else ""),
        total_qpv=f"{t.qpv_count}\u2021" if t.qpv_count else "0",
        total_zonage=f"{t.zonage_count} sur {t.commune_count} (ZIP {t.zip_count}, ZAC {t.zac_count})",
        notes=notes,
        qpv=qpv,
    )


def _age(d: Diagnosis, coverage: Coverage) -> AgeView:
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
        notes.append("Tranches d’âge : " + coverage.neutralised(list(p.age_neutralised_communes)))
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


def _bases(d: Diagnosis) -> list[BaseRow]:
    """The populations the access and population indicators are computed on, with their published counts
    (the denominators the diagnosis publishes; « secret statistique » where it does not)."""
    out: dict[str, BaseRow] = {}
    for ind in [*d.population.indicators, *d.access]:
        label = ind.denominator_label
        if "consomm" not in label.lower():  # e.g. hospital stays: not a population of the territory
            continue
        row = BaseRow(
            label=label[0].upper() + label[1:],
            count=fmt.integer(ind.denominator) if ind.denominator is not None else fmt.MASKED,
            masked=ind.denominator is None,
        )
        if label not in out or (out[label].masked and not row.masked):
            out[label] = row
    return list(out.values())


def _caveats(d: Diagnosis, population_year: str) -> list[str]:
    """What « consommant » means and why INSEE inhabitants and Assurance Maladie consumers differ."""
    periods = list(
        dict.fromkeys(
            f"{i.source}, période {i.period}" if i.period else i.source
            for i in [*d.population.indicators, *d.access]
            if i.denominator_label and "consomm" in i.denominator_label.lower()
        )
    )
    return [
        "Consommant : personne qui a eu au moins un soin remboursé par l’Assurance Maladie pendant la "
        "période de référence, rattachée à sa commune de résidence. Les indicateurs « consommants » "
        "portent sur ces personnes, pas sur tous les habitants.",
        f"Les habitants sont ceux de l’INSEE ({population_year}) ; les consommants viennent des données de "
        f"l’Assurance Maladie — {' ; '.join(periods) or 'SNDS'}. Ces sources et ces périodes diffèrent : "
        "les deux effectifs ne se comparent pas directement (personnes sans soin remboursé, déménagements, "
        "régimes et situations de droits particuliers).",
    ]


def build(
    d: Diagnosis,
    map_view: MapView,
    *,
    name: str | None,
    date: dt.date,
    qpv_names: dict[str, str] | None = None,
) -> ReportView:
    """The complete view of one report."""
    names = Names(d)
    coverage = Coverage(d, names)
    dep_names = {g.code: safe(g.nom) for g in d.territory.departements}
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
        indicator_table(
            "Top 5 des affections de longue durée du territoire", d.prevalences.top5, names, coverage
        )
    ]
    if d.prevalences.requested:
        prevalence.append(
            indicator_table("ALD ciblées à votre demande", d.prevalences.requested, names, coverage)
        )
    cover = viewcover.cover(d, names, name, date)
    return ReportView(
        cover=cover,
        map=map_view,
        map_titles=titles,
        legend_labels=legend,
        territory=_territory(d, names, qpv_names or {}),
        age=_age(d, coverage),
        population=indicator_table(
            "ALD et complémentaire santé solidaire (C2S)", d.population.indicators, names, coverage
        ),
        access=indicator_table("Accès aux soins", d.access, names, coverage),
        prevalence=prevalence,
        prevention=indicator_table("Prévention", d.prevention, names, coverage),
        vaccination=indicator_table("Vaccination", d.vaccination, names, coverage),
        bases=_bases(d),
        caveats=_caveats(d, cover.population_year),
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
