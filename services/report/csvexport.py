"""The CSV export of the selected communes, as French spreadsheets open it without an import wizard.

UTF-8 with BOM, `;` separator, CRLF line ends, decimal comma; one header line, one line per commune, then
`#` comment lines giving the data version and, when any column comes from demonstration data, the words
« données de démonstration » with the columns concerned. docs/report.md lists the columns.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from services.common.contract import Diagnosis

from .viewcommon import collate

BOM = "\ufeff"
# Spreadsheets run a cell starting with one of these as a formula (CSV injection): such text gets a leading
# apostrophe, which they display as plain text.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")

FIXED = [
    "Code commune",
    "Commune",
    "Code département",
    "Département",
    "Code région",
    "Région",
    "Population",
    "Nombre de QPV",
    "Codes QPV",
    "Zonage médecins",
    "CPTS",
]


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA) else value


def export(d: Diagnosis, *, exported_on: dt.date) -> bytes:
    """The CSV bytes of a diagnosis's communes, in the order of the territory table (département, name)."""
    dep = {g.code: g.nom for g in d.territory.departements}
    reg = {g.code: g.nom for g in d.territory.regions}
    professions = d.offer.activity
    n_ps = {(a.profession, c.code): c.n_ps for a in professions for c in a.communes}
    structures: dict[str, int] = {}
    for g in d.offer.structures:
        for s in g.communes:
            structures[s.code] = structures.get(s.code, 0) + s.n
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(FIXED + [f"{a.label} (professionnels)" for a in professions] + ["Structures (FINESS)"])
    order = {g.code: i for i, g in enumerate(d.territory.departements)}
    for c in sorted(d.communes, key=lambda c: (order.get(c.departement, len(order)), collate(c.nom), c.code)):
        w.writerow(
            [
                c.code,
                _text(c.nom),
                c.departement,
                _text(dep.get(c.departement, "")),
                c.region,
                _text(reg.get(c.region, "")),
                "" if c.population is None else str(c.population),
                str(c.qpv_count),
                ",".join(c.qpv),
                c.zonage or "hors zonage",
                _text(c.cpts.nom) if c.cpts else "",
                *[str(n_ps.get((a.profession, c.code), 0)) for a in professions],
                str(structures.get(c.code, 0)),
            ]
        )
    lines = out.getvalue()
    notes = [f"# Rézone CPTS — export du {exported_on.isoformat()} — version des données {d.data_version}"]
    demo = [s.label for s in d.sources if s.is_demo]
    if demo:
        notes.append(
            "# données de démonstration : "
            + " ; ".join(demo)
            + " — ces colonnes sont synthétiques et ne décrivent pas la réalité"
        )
    real = [f"{s.label} ({s.vintage})" for s in d.sources if not s.is_demo]
    if real:
        notes.append("# sources réelles : " + " ; ".join(real))
    return (BOM + lines + "".join(n.replace(";", ",") + "\r\n" for n in notes)).encode("utf-8")
