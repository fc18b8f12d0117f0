"""Demo zonage médecin, quartiers prioritaires (QPV) and existing CPTS perimeters.

- Zonage: a latent "under-served" score shared by the communes of an EPCI (département effect + EPCI
  effect + rurality + a little commune noise); the top 30 % of communes are ZIP, the next 30 % ZAC, so the
  map shows clusters, not noise.
- QPV: about 1 500 in units of more than 10 000 inhabitants (count ∝ population), 5 % extended to a
  neighbouring commune of the same département.
- CPTS: contiguous groups grown breadth-first over the commune adjacency inside a département, from seeds
  drawn with a preference for larger communes, until they cover half of the population.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import Communes, factorize, stream, write_lines

ZIP_SHARE, ZAC_SHARE = 0.30, 0.30
QPV_TARGET = 1500
QPV_MIN_POPULATION = 10_000
QPV_SPANNING_SHARE = 0.05
CPTS_COVERAGE = 0.50
CPTS_MEDIAN_SIZE = 28_000  # population aimed at when growing a perimeter (BFS overshoots it)
CPTS_SITUATION = "2024-10-01"
QPV_PREFIXES = ("Quartier", "Cité", "Résidence", "Secteur", "Les Hauts de", "Centre")
QPV_NAMES = (
    "les Tilleuls",
    "la Source",
    "les Peupliers",
    "le Mail",
    "les Aubépines",
    "la Roseraie",
    "les Châtaigniers",
    "Bellevue",
    "la Croix-Blanche",
    "les Sablons",
    "le Plateau",
    "les Érables",
    "la Gare",
    "Beauregard",
    "les Acacias",
    "la Fontaine",
    "les Marronniers",
    "Saint-Jean",
    "les Cèdres",
    "le Moulin",
    "la Butte",
    "les Vergers",
    "Champ-Fleuri",
    "le Vieux Port",
)


@dataclass
class Cpts:
    """One generated CPTS: id, name, statut and member unit indices (first = most populous)."""

    ident: int
    nom: str
    statut: str
    members: list[int]


def zonage(c: Communes) -> dict[int, str]:
    """ZIP or ZAC per selectable unit index (absent = hors zonage)."""
    rng = stream("zonage")
    units = np.flatnonzero(c.selectable)
    deps, dep_group = factorize(c.dep[units])
    # Arrondissements inherit their city's EPCI; a unit without EPCI is its own group.
    group_key = np.array(
        [e if e else f"_{code}" for e, code in zip(c.epci[units], c.code[units], strict=True)]
    )
    groups, epci_group = factorize(group_key)
    pop = np.maximum(c.pop_est[units], 1).astype(float)
    epci_pop = np.bincount(epci_group, weights=pop)
    dom = np.array([1.0 if d.startswith("97") else 0.0 for d in deps])
    score = (
        rng.normal(0, 0.8, len(deps))[dep_group]
        + dom[dep_group]
        + rng.normal(0, 0.6, len(groups))[epci_group]
        - 0.4 * np.log10(epci_pop[epci_group] / 20_000)
        + rng.normal(0, 0.25, len(units))
    )
    order = np.argsort(-score, kind="stable")
    n_zip, n_zac = int(ZIP_SHARE * len(units)), int(ZAC_SHARE * len(units))
    out: dict[int, str] = {}
    for rank, pos in enumerate(order[: n_zip + n_zac]):
        out[int(units[pos])] = "ZIP" if rank < n_zip else "ZAC"
    return out


def qpv(c: Communes, neighbours: list[list[int]]) -> list[tuple[str, str, list[int]]]:
    """(code, name, unit indices) per QPV."""
    rng = stream("qpv")
    eligible = np.flatnonzero(c.selectable & (c.pop_est > QPV_MIN_POPULATION))
    pop = c.pop_est[eligible].astype(float)
    counts = rng.poisson(QPV_TARGET * pop / pop.sum())
    sequence: dict[str, int] = {}
    out: list[tuple[str, str, list[int]]] = []
    for i, k in zip(eligible.tolist(), counts.tolist(), strict=True):
        dep = c.dep[i]
        dep3 = dep if len(dep) == 3 else "0" + dep
        for _ in range(k):
            sequence[dep3] = sequence.get(dep3, 0) + 1
            letter = "M" if rng.random() < 0.7 else "N"
            code = f"QN{dep3}{sequence[dep3]:03d}{letter}"
            name = (
                f"{QPV_PREFIXES[rng.integers(len(QPV_PREFIXES))]} {QPV_NAMES[rng.integers(len(QPV_NAMES))]}"
            )
            members = [i]
            same_dep = [j for j in neighbours[i] if c.dep[j] == dep]
            if same_dep and rng.random() < QPV_SPANNING_SHARE:
                members.append(same_dep[rng.integers(len(same_dep))])
            out.append((code, name, sorted(members)))
    return out


def cpts(c: Communes, neighbours: list[list[int]]) -> list[Cpts]:
    """Contiguous CPTS perimeters covering about half of the population."""
    rng = stream("cpts")
    units = np.flatnonzero(c.selectable & c.has_geom)
    pop = c.pop_est.astype(float)
    target = CPTS_COVERAGE * pop[units].sum()
    # Weighted random order (Efraimidis–Spirakis): larger communes tend to seed first.
    keys = rng.random(len(units)) ** (1.0 / np.sqrt(np.maximum(pop[units], 1.0)))
    seeds = units[np.argsort(-keys, kind="stable")]
    assigned = np.zeros(len(c), dtype=bool)
    covered = 0.0
    out: list[Cpts] = []
    for seed in seeds.tolist():
        if covered >= target:
            break
        if assigned[seed]:
            continue
        size = float(np.clip(rng.lognormal(np.log(CPTS_MEDIAN_SIZE), 0.6), 8_000, 250_000))
        members, total = [seed], pop[seed]
        queue = deque(neighbours[seed])
        seen = {seed}
        while queue and total < size:
            j = queue.popleft()
            if j in seen or assigned[j] or c.dep[j] != c.dep[seed]:
                continue
            seen.add(j)
            members.append(j)
            total += pop[j]
            queue.extend(n for n in neighbours[j] if n not in seen)
        if total < 5_000:
            continue  # too small to be a CPTS: those communes stay free for a later seed
        assigned[members] = True
        covered += total
        members.sort(key=lambda m: (-pop[m], c.code[m]))
        out.append(Cpts(len(out) + 1, _name(c, rng, members), _statut(rng), members))
    return out


def _name(c: Communes, rng: np.random.Generator, members: list[int]) -> str:
    head = members[0]
    nom, nom_de = c.nom[head], c.nom_de[head]
    epci = c.epci_names.get(c.epci[head], "")
    draw = rng.random()
    if c.kind[head] == "ARM":
        return f"CPTS {nom.replace(' Arrondissement', '')}"
    if draw < 0.4:
        return f"CPTS du Pays {nom_de}"
    if draw < 0.65:
        return f"CPTS {nom}"
    if draw < 0.8 or not epci:
        return f"CPTS {nom_de} et alentours"
    return f"CPTS {epci}"


def _statut(rng: np.random.Generator) -> str:
    draw = rng.random()
    return "aci_signe" if draw < 0.80 else "projet_valide" if draw < 0.92 else "lettre_intention"


def write(c: Communes, neighbours: list[list[int]], out_dir: Path) -> tuple[dict[str, str], list[Cpts]]:
    """Write zonage, QPV and CPTS files; returns ({source key: file name}, the CPTS for FINESS 604 rows)."""
    zones = zonage(c)
    rng = stream("zonage-dates")
    regions = sorted(set(c.region[c.selectable].tolist()))
    dates = {
        r: f"{2022 + int(rng.integers(3))}-{1 + int(rng.integers(12)):02d}-{1 + int(rng.integers(28)):02d}"
        for r in regions
    }
    lines = ["code_commune;zonage;date_arrete"]
    for i in np.flatnonzero(c.selectable).tolist():
        lines.append(f"{c.code[i]};{zones.get(i, 'HZ')};{dates[c.region[i]]}")
    files = {"zonage": "zonage-medecins-2024.csv"}
    write_lines(out_dir / files["zonage"], lines)

    lines = ["code_qp;lib_qp;insee_dep;insee_com;lib_com"]
    for code, name, members in qpv(c, neighbours):
        lines.extend(f"{code};{name};{c.dep[i]};{c.code[i]};{c.nom[i]}" for i in members)
    files["qpv"] = "qpv-2024.csv"
    write_lines(out_dir / files["qpv"], lines)

    perimeters = cpts(c, neighbours)
    lines = ["id;nom;statut;code_commune;date_situation"]
    for p in perimeters:
        lines.extend(
            f"{p.ident};{p.nom};{p.statut};{c.code[i]};{CPTS_SITUATION}"
            for i in sorted(p.members, key=lambda m: c.code[m])
        )
    files["cpts"] = "cpts-2024-10.csv"
    write_lines(out_dir / files["cpts"], lines)
    return files, perimeters
