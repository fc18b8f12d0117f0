"""View of the offer of care and of the ACI envelope (demography, activity, structures, financing)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from services.common.contract import (
    ActivityCell,
    DemographyRow,
    Diagnosis,
    Offer,
    ProfessionActivity,
    RatioFigure,
    StructureGroup,
)

from . import fmt, viewcharts, viewnotes
from .model import (
    AciLineView,
    AciMissionView,
    AciView,
    ActivityList,
    DemographyLine,
    OfferView,
    RatioRow,
    StructureLine,
)
from .viewcommon import Names, by_departement, cell, safe, status

FAMILIES = {
    "specialistes": "Spécialités médicales, dentaires et sages-femmes",
    "auxiliaires": "Auxiliaires médicaux",
    "pharmacies_labos": "Pharmacies et laboratoires",
    "fournisseurs_transports": "Fournisseurs, transports sanitaires et taxis",
}
SECTORS = {"sanitaire": "Sanitaire", "medico-social": "Médico-social", "coordination": "Exercice coordonné"}


def _ratio(a: ProfessionActivity, f: RatioFigure, label: str, *, whole: bool = False) -> RatioRow:
    """Patients (`whole`: integers, as the seed prints them) or acts per professional.

    With no professional of the profession on the territory there is nothing to measure: « sans objet »,
    not « secret statistique »."""
    c = f.comparisons
    state = "sans_objet" if a.n_ps_total == 0 else status(f)
    digits = 0 if whole else 1

    def number(x: float | None) -> str:
        return fmt.decimal(x, digits)

    def ref(x: object) -> str:
        value = getattr(x, "value", None)
        weighted = getattr(x, "weighted", False) and value is not None
        return number(value) + ("\u2020" if weighted else "")

    return RatioRow(
        profession=safe(a.label),
        label=safe(label),
        ter=cell(state, number(f.value)) + ("*" if f.partial and state == "ok" else ""),
        dep=ref(c.departement),
        reg=ref(c.region),
        fr=ref(c.france),
        masked=state != "ok",
    )


def _structures(groups: list[StructureGroup], names: Names) -> list[StructureLine]:
    return [
        StructureLine(
            sector=SECTORS.get(g.sector, g.sector),
            label=g.label,
            total=fmt.integer(g.total),
            communes=", ".join(f"{names(c.code)} ({c.n})" for c in g.communes),
        )
        for g in groups
    ]


def _age_cell(r: DemographyRow, v: int | None) -> str:
    """Businesses have no age, nor a category without professional (« – », sans objet); a masked age is
    « secret statistique », never a number."""
    if r.is_business or r.n == 0 or r.ages_status == "sans_objet":
        return "–"
    return fmt.MASKED if r.ages_masked or v is None else fmt.integer(v)


def offer(d: Diagnosis, names: Names) -> OfferView:
    """Demography, activity (per-commune table, neutralisation summaries, ratios) and structures."""
    o = d.offer
    demography: list[DemographyLine] = []
    family = None
    for r in o.demography:
        if r.family != family:
            family = r.family
            demography.append(
                DemographyLine(label=FAMILIES.get(r.family, r.family), n="", n60="", n65="", level=0)
            )
        demography.append(
            DemographyLine(
                label=r.label,
                n=fmt.integer(r.n),
                n60=_age_cell(r, r.n_60plus),
                n65=_age_cell(r, r.n_65plus),
                level=2 if r.parent else 1,
            )
        )
    activity = _activity_lists(d, o.activity, names)
    summaries = [
        f"{a.label} : aucun professionnel sur le territoire (sans objet)."
        if a.n_ps_total == 0
        else f"{a.label} : {a.summary} — taux de professionnels neutralisés : "
        f"{fmt.share(a.neutralised_rate)}."
        for a in o.activity
    ]
    figures = [f for a in o.activity if a.n_ps_total > 0 for f in (a.patients_per_ps, *a.acts)]
    ratio_notes = list(dict.fromkeys(f.reason for f in figures if status(f) == "masked" and f.reason))
    return OfferView(
        demography=demography,
        demography_source=f"{o.demography_source} ({o.demography_period})",
        activity=activity,
        summaries=summaries,
        ratio_notes=ratio_notes,
        patients=[_ratio(a, a.patients_per_ps, a.label, whole=True) for a in o.activity],
        acts=[
            _ratio(a, f, f"{a.label} — {f.label}" + (f" ({f.detail})" if f.detail else ""))
            for a in o.activity
            for f in a.acts
        ],
        activity_source=f"{o.activity_source} ({o.activity_period})",
        structures=_structures(o.structures, names),
        centres=_structures(o.centres_de_sante, names),
        structures_source=f"{o.structures_source} ({o.structures_period})",
        densities=viewcharts.densities(o.densities),
        density_weights=_density_weights(o),
    )


def _density_weights(o: Offer) -> list[str]:
    """The weights of the weighted density comparators: the territory's INSEE population in each unit, the
    same for every category, so one line per level."""
    first = next((x.comparisons for x in o.densities), None)
    if first is None:
        return []
    levels = (("departement", first.departement), ("region", first.region))
    lines = (viewnotes.weights(level, c) for level, c in levels)
    return [x for x in lines if x]


def _entries(cells: Iterable[ActivityCell], names: Names) -> str:
    # A no-break space: a count never starts a line away from its commune.
    return ", ".join(f"{names(c.code)}\u00a0({c.n_ps})" for c in cells)


def _activity_lists(d: Diagnosis, activity: list[ProfessionActivity], names: Names) -> list[ActivityList]:
    """Per profession, the communes that have professionals, in the territory table's order.

    A list per profession rather than a commune × profession table: most cells of that table were « – »
    (a 100-commune territory has professionals of a profession in 2 to 40 of its communes), and its ~600
    cells were a fifth of the Typst compile. The per-commune counts stay in the CSV export."""
    rank = {c.code: i for i, c in enumerate(c for _, cs in by_departement(d) for c in cs)}
    lists = []
    for a in activity:
        present = sorted((c for c in a.communes if c.n_ps > 0), key=lambda c: rank.get(c.code, len(rank)))
        if present:
            n = len(present)
            lists.append(
                ActivityList(
                    label=safe(a.label),
                    communes=f"{n} commune{'s' if n > 1 else ''}",
                    kept=_entries((c for c in present if c.counted), names),
                    neutralised=_entries((c for c in present if not c.counted), names),
                )
            )
    return lists


def aci(d: Diagnosis) -> AciView:
    """Size band and annual envelope of the ACI, from verified amounts only, with their reference."""
    a = d.aci
    verified = [m for m in a.missions if all(ln.verified for ln in m.lines)]
    missions = [
        AciMissionView(
            label=m.label,
            optional=m.optional,
            total=fmt.euros(m.total),
            lines=[AciLineView(label=ln.volet_label, amount=fmt.euros(ln.amount)) for ln in m.lines],
        )
        for m in verified
    ]
    notes = [ln.note for m in verified for ln in m.lines if ln.note]
    reference = notes[0] if notes and all(n == notes[0] for n in notes) else a.schedule
    # Later dated rows are printed only when checked against their instrument, with its date in words.
    amendments = [
        f"{ln.instrument}, à partir du {fmt.date_long(dt.date.fromisoformat(ln.valid_from))} — "
        f"{ln.mission_label}, {ln.volet_label} : {fmt.euros(ln.amount)}"
        + (f" ({ln.note})" if ln.note else "")
        for ln in a.amendments
        if ln.verified and ln.amount is not None
    ]
    size_range = a.size_label.split("(", 1)[1].rstrip(")") if "(" in a.size_label else a.size_label
    return AciView(
        population=fmt.integer(a.population),
        size=a.size if a.size is not None else "non déterminée",
        size_label=size_range,
        thresholds=" / ".join(fmt.integer(t) for t in a.thresholds),
        warning=a.warning,
        schedule=a.schedule,
        missions=missions,
        total=fmt.euros(sum(m.total for m in verified)),
        reference=reference,
        amendments=amendments,
    )
