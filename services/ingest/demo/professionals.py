"""Demo health professionals per commune: demography (counts, 60+ and 65+), and the activity of a semester.

Model (docs/data.md): for each category the national count is density × population; it is spread over
communes proportionally to population^β (β > 1 concentrates a profession in larger communes) times a
département factor, and drawn as a gamma-Poisson (negative binomial) count, so most small communes have
none and many have fewer than 5 (the activity secrecy rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import Communes, factorize, stream, write_lines

MONTH = "2024-11"
SEMESTER = "2024-S1"


@dataclass(frozen=True)
class Profession:
    """National density (per 100 000 inhabitants), concentration and age structure of one category."""

    key: str
    density: float
    beta: float
    share_60: float | None = None  # share aged 60+; None for businesses (ages not applicable)
    share_65_of_60: float | None = None


PROFESSIONS = (
    Profession("mg", 85, 1.15, 0.28, 0.50),
    Profession("specialistes", 90, 1.6, 0.33, 0.55),
    Profession("dentistes", 55, 1.2, 0.25, 0.45),
    Profession("sages_femmes", 12, 1.3, 0.12, 0.40),
    Profession("infirmiers", 150, 1.0, 0.12, 0.40),
    Profession("kines", 110, 1.15, 0.10, 0.45),
    Profession("orthophonistes", 33, 1.2, 0.12, 0.40),
    Profession("orthoptistes", 6, 1.6, 0.08, 0.40),
    Profession("podologues", 20, 1.2, 0.15, 0.45),
    Profession("pharmacies", 30, 0.9),
    Profession("laboratoires", 6, 1.5),
    Profession("fournisseurs", 15, 1.4),
    Profession("transporteurs", 8, 1.1),
    Profession("taxis", 60, 0.8),
)
MEP_SHARE = 0.06  # "dont MEP" among GPs
OVERDISPERSION = 2.0  # gamma shape of the negative binomial

# Activity of a semester: mean patients per professional (seed report, France column) and acts or
# coefficients per professional by act type.
PATIENTS_PER_PS = {"mg": 1153, "infirmiers": 164, "kines": 136, "orthophonistes": 58, "orthoptistes": 445}
ACTS_PER_PS = {
    "CV": ("mg", 2450),
    "ATECH": ("mg", 70),
    "AMI": ("infirmiers", 4200),
    "AIS": ("infirmiers", 2600),
    "AMC": ("kines", 250),
    "AMK": ("kines", 2900),
    "AMS": ("kines", 2100),
    "AMO": ("orthophonistes", 5300),
    "AMY": ("orthoptistes", 2300),
}
INACTIVE_SHARE = 0.03  # professionals without activity in the semester (arrivals, departures)


def demography(c: Communes) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(units, {category: (n, n60, n65) stacked as an (n_units, 3) array; ages -1 for businesses})."""
    rng = stream("professionals")
    units = np.flatnonzero(c.selectable)
    deps, dep_group = factorize(c.dep[units])
    pop = c.pop_est[units].astype(float)
    total_pop = pop.sum()
    out: dict[str, np.ndarray] = {}
    for prof in PROFESSIONS:
        weight = np.power(pop, prof.beta) * np.exp(rng.normal(0, 0.15, len(deps)))[dep_group]
        expected = weight / weight.sum() * prof.density / 1e5 * total_pop
        n = rng.poisson(expected * rng.gamma(OVERDISPERSION, 1 / OVERDISPERSION, len(units)))
        if prof.share_60 is None:
            out[prof.key] = np.stack([n, np.full_like(n, -1), np.full_like(n, -1)], axis=1)
            continue
        assert prof.share_65_of_60 is not None, "professions with ages give both shares"
        n60 = rng.binomial(n, prof.share_60)
        n65 = rng.binomial(n60, prof.share_65_of_60)
        out[prof.key] = np.stack([n, n60, n65], axis=1)
        if prof.key == "mg":
            # MEP doctors are a subset of the GPs: draw them among them so that every age count stays below
            # the GPs' own (hypergeometric draws keep the subset consistent).
            mep = rng.binomial(n, MEP_SHARE)
            mep60 = rng.hypergeometric(n60, n - n60, mep)
            mep65 = rng.hypergeometric(n65, n60 - n65, mep60)
            out["mg_mep"] = np.stack([mep, mep60, mep65], axis=1)
    order = ["mg", "mg_mep"] + [p.key for p in PROFESSIONS if p.key != "mg"]
    return units, {k: out[k] for k in order}


def write(c: Communes, out_dir: Path) -> dict[str, str]:
    """Write the demography, activity and acts files; returns {source key: file name}."""
    units, demo = demography(c)
    codes = c.code[units]
    lines = ["code_commune;categorie;mois;effectif;effectif_60_plus;effectif_65_plus"]
    columns = [(k, v.tolist()) for k, v in demo.items()]
    for row, code in enumerate(codes):
        for key, values in columns:
            n, n60, n65 = values[row]
            if n == 0:
                continue
            ages = "" if n60 < 0 else n60
            ages65 = "" if n65 < 0 else n65
            lines.append(f"{code};{key};{MONTH};{n};{ages};{ages65}")
    files = {"ps_demographie": f"ps_demographie-{MONTH}.csv"}
    write_lines(out_dir / files["ps_demographie"], lines)

    rng = stream("activity")
    active = {}
    for key in PATIENTS_PER_PS:
        n = demo[key][:, 0]
        active[key] = n - rng.binomial(n, INACTIVE_SHARE)
    patients = {
        k: np.rint(active[k] * PATIENTS_PER_PS[k] * rng.lognormal(0, 0.2, len(units))).astype(np.int64)
        for k in PATIENTS_PER_PS
    }
    lines = ["code_commune;profession;semestre;effectif;patients"]
    act_cols = [(k, active[k].tolist(), patients[k].tolist()) for k in PATIENTS_PER_PS]
    for row, code in enumerate(codes):
        for key, n_ps, pat in act_cols:
            if n_ps[row] > 0:
                lines.append(f"{code};{key};{SEMESTER};{n_ps[row]};{pat[row]}")
    files["ps_activite"] = f"ps_activite-{SEMESTER}.csv"
    write_lines(out_dir / files["ps_activite"], lines)

    # Quantities in tenths, written as integers + one decimal: no float formatting in the files.
    tenths = {
        a: np.rint(active[p] * mean * 10 * rng.lognormal(0, 0.25, len(units))).astype(np.int64).tolist()
        for a, (p, mean) in ACTS_PER_PS.items()
    }
    lines = ["code_commune;type_acte;semestre;quantite"]
    acts = [(a, p, tenths[a], active[p].tolist()) for a, (p, _) in ACTS_PER_PS.items()]
    for row, code in enumerate(codes):
        for act, _, q, n_ps in acts:
            if n_ps[row] > 0:
                lines.append(f"{code};{act};{SEMESTER};{q[row] // 10}.{q[row] % 10}")
    files["ps_actes"] = f"ps_actes-{SEMESTER}.csv"
    write_lines(out_dir / files["ps_actes"], lines)
    return files
