"""Demo FINESS establishments: which categories, how many, in which communes, under which names.

Establishments of the categories Rézone shows, in roughly national numbers, placed in communes by a
population-weighted draw (hospitals in the larger communes of a département), plus some categories Rézone
does not show (a real file has 300+) that the importer must skip. finess_file.py writes them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Communes, stream, upper_ascii, weighted_choice
from .territory import Cpts

# categetab: (national count, minimum population of the commune, exponent of the population weight)
PLAN = {
    "355": (1000, 4_000, 0.7),
    "106": (300, 1_500, 0.0),
    "115": (4, 100_000, 1.0),
    "365": (450, 8_000, 1.0),
    "128": (250, 8_000, 1.0),
    "129": (180, 8_000, 1.0),
    "122": (120, 15_000, 1.0),
    "109": (900, 1_000, 0.6),
    "141": (800, 5_000, 0.9),
    "146": (300, 5_000, 0.9),
    "127": (290, 10_000, 0.8),
    "500": (7500, 300, 0.65),
    "354": (2100, 800, 0.5),
    "603": (2500, 800, 0.4),
    "124": (2600, 3_000, 1.1),
    # Categories Rézone does not show: the importer skips and counts them.
    "156": (700, 5_000, 0.8),
    "362": (250, 3_000, 0.7),
    "292": (90, 20_000, 1.0),
    "611": (400, 3_000, 1.0),
    "606": (110, 20_000, 0.8),
    "209": (250, 1_000, 0.5),
}
MSP_MAX_POPULATION = 40_000
OTHER_LABELS = {
    "156": ("Centre Médico-Psychologique (C.M.P.)", "3101"),
    "362": ("Etablissement de Soins Longue Durée", "1109"),
    "292": ("Centre Hospitalier Spécialisé lutte Maladies Mentales", "1103"),
    "611": ("Laboratoire de Biologie Médicale", "3301"),
    "606": ("Dispositif d'Appui à la Coordination", "3103"),
    "209": ("Service autonomie aide et soins", "4403"),
}
AGGREGATES = {
    "355": "1102",
    "101": "1101",
    "106": "1106",
    "114": "1301",
    "115": "1301",
    "365": "1110",
    "128": "1110",
    "129": "1110",
    "122": "1110",
    "109": "1107",
    "141": "1108",
    "146": "1108",
    "127": "1111",
    "500": "4401",
    "354": "4403",
    "603": "2204",
    "124": "2204",
    "604": "2206",
}
# The eight hôpitaux d'instruction des armées, in their real communes (arrondissement for Marseille, Lyon).
HIA = (
    ("94067", "HIA BEGIN"),
    ("92023", "HIA PERCY"),
    ("13213", "HIA LAVERAN"),
    ("83137", "HIA SAINTE ANNE"),
    ("29019", "HIA CLERMONT TONNERRE"),
    ("33550", "HIA ROBERT PICQUE"),
    ("69383", "HIA DESGENETTES"),
    ("57463", "HIA LEGOUEST"),
)
CHR_LEGAL_ENTITIES = 32
CDS_TYPES = (("polyvalent", 0.38), ("medical", 0.12), ("dentaire", 0.33), ("infirmier", 0.17))
ECDS_PRESENT = 0.82

EHPAD_NAMES = tuple(
    "LES TILLEULS|LES GLYCINES|LA ROSERAIE|LE CLOS FLEURI|LES JARDINS|LA SOURCE|LES CHENES|"
    "LE BOIS JOLI|LES HORTENSIAS|SAINT JOSEPH|LES MAGNOLIAS|LE CEDRE".split("|")
)
CHR_SITES = tuple(
    "HOPITAL NORD|HOPITAL SUD|HOPITAL DE LA CROIX|SITE CENTRE|HOPITAL MERE ENFANT|"
    "HOPITAL GERIATRIQUE|HOPITAL DES SPECIALITES|INSTITUT DU CANCER|HOPITAL EST".split("|")
)


@dataclass
class Et:
    """One generated establishment before numbering."""

    categetab: str
    unit: int  # selectable unit it lies in
    ej: str = ""  # legal-entity key shared by sites of one EJ
    name: str = ""
    cds_type: str = ""


def _cities(c: Communes) -> tuple[np.ndarray, dict[int, list[int]]]:
    cities = np.flatnonzero((c.kind == "COM") & c.has_geom & (c.pop_est > 0))
    children: dict[int, list[int]] = {}
    for i in np.flatnonzero(c.kind == "ARM").tolist():
        children.setdefault(c.index[c.parent[i]], []).append(i)
    return cities, children


def _unit(c: Communes, rng: np.random.Generator, city: int, children: dict[int, list[int]]) -> int:
    kids = children.get(city)
    if not kids:
        return city
    weights = c.pop_est[kids].astype(float)
    return kids[int(weighted_choice(rng, weights, 1)[0])]


def place(c: Communes, perimeters: list[Cpts]) -> list[Et]:
    """Every establishment with its category, commune and name."""
    rng = stream("finess-placement")
    cities, children = _cities(c)
    pop = c.pop_est[cities].astype(float)
    ets: list[Et] = []

    # Centres hospitaliers: one in the largest commune of every département, the rest by weight.
    largest: dict[str, int] = {}
    for i in cities[np.argsort(-pop, kind="stable")].tolist():
        largest.setdefault(c.dep[i], i)
    for dep in sorted(largest):
        ets.append(Et("355", _unit(c, rng, largest[dep], children)))
    # Centres hospitaliers régionaux: legal entities in the largest communes of each région, then the
    # largest remaining ones; several sites each (main site + "entités").
    by_region: dict[str, int] = {}
    for i in cities[np.argsort(-pop, kind="stable")].tolist():
        by_region.setdefault(c.region[i], i)
    chr_cities = sorted(by_region.values(), key=lambda i: c.code[i])
    for i in cities[np.argsort(-pop, kind="stable")].tolist():
        if len(chr_cities) >= CHR_LEGAL_ENTITIES:
            break
        if i not in chr_cities:
            chr_cities.append(i)
    for city in chr_cities:
        sites = 1 + int(rng.poisson(3.7 * np.clip(np.sqrt(c.pop_est[city] / 300_000), 0.5, 2.5)))
        dep_cities = cities[(c.dep[cities] == c.dep[city]) & (pop >= 5_000)]
        for s in range(sites):
            host = (
                city
                if s == 0 or rng.random() < 0.6
                else int(dep_cities[weighted_choice(rng, c.pop_est[dep_cities].astype(float), 1)[0]])
            )
            ets.append(
                Et(
                    "101",
                    _unit(c, rng, host, children),
                    ej=f"chr-{c.code[city]}",
                    name=(
                        f"CHU {upper_ascii(c.nom[city])}"
                        + ("" if s == 0 else f" {CHR_SITES[s % len(CHR_SITES)]}")
                    )[:38],
                )
            )
    for code, name in HIA:
        if code in c.index:
            ets.append(Et("114", c.index[code], name=name))
    for categetab, (count, min_pop, exponent) in PLAN.items():
        if categetab == "355":
            count -= len(largest)
        weight = np.where(pop >= min_pop, np.power(pop, exponent), 0.0)
        if categetab == "603":
            weight[pop > MSP_MAX_POPULATION] = 0.0
        for city in weighted_choice(rng, weight, count).tolist():
            et = Et(categetab, _unit(c, rng, int(cities[city]), children))
            if categetab == "124":
                kinds, shares = zip(*CDS_TYPES, strict=True)
                et.cds_type = str(kinds[int(weighted_choice(rng, np.array(shares), 1)[0])])
            ets.append(et)
    for p in perimeters:
        if p.statut != "lettre_intention":
            ets.append(Et("604", p.members[0], name=upper_ascii(p.nom)[:38]))
    for et in ets:
        if not et.name:
            et.name = _name(c, rng, et)
    return ets


def _name(c: Communes, rng: np.random.Generator, et: Et) -> str:
    city = upper_ascii(c.nom[c.city(et.unit)])
    pick = {
        "355": f"CH DE {city}",
        "106": f"HOPITAL LOCAL DE {city}",
        "115": f"CMA {city}",
        "365": f"POLYCLINIQUE DE {city}",
        "128": f"CLINIQUE CHIRURGICALE {city}",
        "129": f"CLINIQUE MEDICALE {city}",
        "122": f"CLINIQUE OBSTETRICALE {city}",
        "109": f"CENTRE DE READAPTATION {city}",
        "141": f"CENTRE DE DIALYSE {city}",
        "146": f"UNITE D AUTODIALYSE {city}",
        "127": f"HAD {city}",
        "354": f"SSIAD {city}",
        "603": f"MSP {city}",
        "156": f"CMP {city}",
        "362": f"USLD {city}",
        "292": f"CHS {city}",
        "611": f"LBM {city}",
        "606": f"DAC {city}",
        "209": f"SAAS {city}",
    }.get(et.categetab)
    if et.categetab == "500":
        pick = f"EHPAD {EHPAD_NAMES[int(rng.integers(len(EHPAD_NAMES)))]}"
    elif et.categetab == "124":
        pick = {"dentaire": "CENTRE DENTAIRE", "infirmier": "CENTRE DE SOINS INFIRMIERS"}.get(
            et.cds_type, "CENTRE DE SANTE"
        ) + f" {city}"
    return (pick or f"ETABLISSEMENT {city}")[:38]
