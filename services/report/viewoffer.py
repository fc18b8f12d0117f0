"""View of the offer of care and of the ACI envelope (demography, activity, structures, financing)."""

from __future__ import annotations

from services.common.contract import (
    DemographyRow,
    Diagnosis,
    ProfessionActivity,
    RatioFigure,
    StructureGroup,
)

from . import fmt
from .model import (
    AciLineView,
    AciMissionView,
    AciView,
    ActivityCell,
    ActivityRow,
    DemographyLine,
    OfferView,
    RatioRow,
    StructureLine,
)
from .viewcommon import Names, collate, comparator

FAMILIES = {
    "specialistes": "Spécialités médicales, dentaires et sages-femmes",
    "auxiliaires": "Auxiliaires médicaux",
    "pharmacies_labos": "Pharmacies et laboratoires",
    "fournisseurs_transports": "Fournisseurs, transports sanitaires et taxis",
}
SECTORS = {"sanitaire": "Sanitaire", "medico-social": "Médico-social", "coordination": "Exercice coordonné"}


def _ratio(profession: str, f: RatioFigure, label: str) -> RatioRow:
    c = f.comparisons
    return RatioRow(
        profession=profession,
        label=label,
        ter="–"
        if f.status == "sans_objet"
        else fmt.decimal(f.value) + ("*" if f.partial and not f.masked else ""),
        dep=comparator(c.departement, "ratio"),
        reg=comparator(c.region, "ratio"),
        fr=comparator(c.france, "ratio"),
        masked=f.masked,
    )


def _structures(groups: list[StructureGroup], names: Names) -> list[StructureLine]:
    return [
        StructureLine(
            sector=SECTORS.get(g.sector, g.sector),
            label=g.label,
            total=fmt.integer(g.total),
            communes=", ".join(f"{names(c.code)} : {c.n}" for c in g.communes),
        )
        for g in groups
    ]


def _age_cell(r: DemographyRow, v: int | None) -> str:
    """Businesses have no age (« – »); a masked age is « secret statistique », never a number."""
    if r.is_business or r.ages_status == "sans_objet":
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
    activity = _activity_rows(d, o.activity, names)
    summaries = [
        f"{a.label} : {a.summary} — taux de professionnels neutralisés : {fmt.share(a.neutralised_rate)}."
        for a in o.activity
    ]
    figures = [f for a in o.activity for f in (a.patients_per_ps, *a.acts)]
    ratio_notes = list(dict.fromkeys(f.reason for f in figures if f.masked and f.reason))
    return OfferView(
        demography=demography,
        demography_source=f"{o.demography_source} ({o.demography_period})",
        professions=[a.label for a in o.activity],
        activity=activity,
        summaries=summaries,
        ratio_notes=ratio_notes,
        patients=[_ratio(a.label, a.patients_per_ps, a.label) for a in o.activity],
        acts=[
            _ratio(a.label, f, f"{a.label} — {f.label}" + (f" ({f.detail})" if f.detail else ""))
            for a in o.activity
            for f in a.acts
        ],
        activity_source=f"{o.activity_source} ({o.activity_period})",
        structures=_structures(o.structures, names),
        centres=_structures(o.centres_de_sante, names),
        structures_source=f"{o.structures_source} ({o.structures_period})",
    )


def _activity_rows(d: Diagnosis, activity: list[ProfessionActivity], names: Names) -> list[ActivityRow]:
    cells = {(a.profession, c.code): c for a in activity for c in a.communes}
    order = [
        c.code
        for g in d.territory.departements
        for c in sorted(
            (x for x in d.communes if x.code in set(g.communes)), key=lambda x: (collate(x.nom), x.code)
        )
    ]
    rows = []
    for code in order:
        row = []
        for a in activity:
            c = cells.get((a.profession, code))
            if c is None or c.n_ps == 0:
                row.append(ActivityCell(text="–", muted=False))
            else:
                row.append(ActivityCell(text=str(c.n_ps), muted=not c.counted))
        rows.append(ActivityRow(nom=names(code), cells=row))
    return rows


def aci(d: Diagnosis) -> AciView:
    """Size band and annual envelope of the ACI, with the dated amendments."""
    a = d.aci
    missions = [
        AciMissionView(
            label=m.label,
            optional=m.optional,
            total=fmt.euros(m.total),
            lines=[AciLineView(label=ln.volet_label, amount=fmt.euros(ln.amount)) for ln in m.lines],
        )
        for m in a.missions
    ]
    amendments = [
        f"{ln.instrument} (à partir du {ln.valid_from}) — {ln.mission_label}, {ln.volet_label} : "
        f"{fmt.euros(ln.amount)}"
        + ("" if ln.verified else " (montant à vérifier)")
        + (f" — {ln.note}" if ln.note else "")
        for ln in a.amendments
    ]
    return AciView(
        population=fmt.integer(a.population),
        size=a.size if a.size is not None else "non déterminée",
        size_label=a.size_label,
        thresholds=" / ".join(fmt.integer(t) for t in a.thresholds),
        warning=a.warning,
        schedule=a.schedule,
        missions=missions,
        total=fmt.euros(a.total),
        amendments=amendments,
    )
