"""What every part of the demo generator shares: the seeded random streams, the communes read from the
database, and the file writer.

Determinism rules: every random draw comes from a named stream derived from SEED (so the parts do not
depend on each other's order of draws), every set that is iterated is sorted first, every query has an
ORDER BY, and numbers are written from integers (coordinates are rounded by PostGIS to 0.1 m as text).
"""

from __future__ import annotations

import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import numpy as np

SEED = 20241108

# Population estimates where INSEE publishes none (ref.communes.population IS NULL): Mayotte as a whole
# (INSEE estimate at 1 January 2024), spread over its communes by area; elsewhere the département's density.
MAYOTTE_POPULATION_2024 = 320_901


def stream(name: str) -> np.random.Generator:
    """An independent, reproducible random stream for one part of the generator."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([SEED, zlib.crc32(name.encode())])))


@dataclass
class Communes:
    """Every commune and arrondissement (ordered by code) with what the generator needs, as arrays."""

    code: np.ndarray  # str
    nom: np.ndarray  # str, official name (« Le Havre »)
    nom_de: np.ndarray  # str, « de » form (« du Havre », « d'Ajaccio »: ref.communes.nom_de)
    kind: np.ndarray  # 'COM' | 'ARM'
    dep: np.ndarray  # département code
    region: np.ndarray
    epci: np.ndarray  # '' when none
    parent: np.ndarray  # PLM city of an arrondissement, else ''
    selectable: np.ndarray  # bool
    has_geom: np.ndarray  # bool
    population: np.ndarray  # INSEE population, -1 when missing
    pop_est: np.ndarray  # population, or the documented estimate when missing
    area_km2: np.ndarray  # only where a population must be estimated (its département), else 0
    epci_names: dict[str, str] = field(default_factory=dict)
    dep_names: dict[str, str] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.code)

    def city(self, i: int) -> int:
        """Index of the commune FINESS and postal addresses use: the PLM city for an arrondissement."""
        return self.index[self.parent[i]] if self.parent[i] else i


async def load_communes(conn: asyncpg.Connection) -> Communes:
    """Read ref.communes ordered by code."""
    rows = await conn.fetch("""
        SELECT c.code, c.nom, c.nom_de, c.kind, c.departement_code, c.region_code,
               coalesce(c.epci_code, '') AS epci,
               coalesce(c.parent_code, '') AS parent, c.selectable, c.geom IS NOT NULL AS has_geom,
               coalesce(c.population, -1) AS population,
               CASE WHEN c.departement_code IN (SELECT p.departement_code FROM ref.communes p
                                                WHERE p.population IS NULL)
                    THEN coalesce(ST_Area(c.geom::geography) / 1e6, 0) ELSE 0 END AS area_km2
        FROM ref.communes c ORDER BY c.code""")
    col = {k: np.array([r[k] for r in rows]) for k in rows[0].keys()}
    communes = Communes(
        code=col["code"],
        nom=col["nom"],
        nom_de=col["nom_de"],
        kind=col["kind"],
        dep=col["departement_code"],
        region=col["region_code"],
        epci=col["epci"],
        parent=col["parent"],
        selectable=col["selectable"],
        has_geom=col["has_geom"],
        population=col["population"].astype(np.int64),
        pop_est=np.zeros(len(rows), dtype=np.int64),
        area_km2=col["area_km2"].astype(float),
    )
    communes.index = {code: i for i, code in enumerate(communes.code)}
    communes.epci_names = {
        r["code"]: r["nom"] for r in await conn.fetch("SELECT code, nom FROM ref.epci ORDER BY code")
    }
    communes.dep_names = {
        r["code"]: r["nom"] for r in await conn.fetch("SELECT code, nom FROM ref.departements ORDER BY code")
    }
    communes.pop_est = _estimate_population(communes)
    return communes


def _estimate_population(c: Communes) -> np.ndarray:
    pop = c.population.astype(float)
    missing = pop < 0
    counted = c.selectable & ~missing
    for dep in sorted(set(c.dep[missing & c.selectable])):
        in_dep = (c.dep == dep) & c.selectable
        if dep == "976":
            density = MAYOTTE_POPULATION_2024 / max(c.area_km2[in_dep].sum(), 1.0)
        else:
            density = pop[in_dep & counted].sum() / max(c.area_km2[in_dep & counted].sum(), 1.0)
        target = in_dep & missing
        pop[target] = density * c.area_km2[target]
    pop[missing & ~c.selectable] = 0
    out: np.ndarray = np.rint(pop).astype(np.int64)
    return out


async def adjacency(conn: asyncpg.Connection, c: Communes) -> list[list[int]]:
    """Neighbours (sharing a border) of every selectable unit, as sorted index lists."""
    pairs = await conn.fetch("""
        SELECT a.code AS a, b.code AS b
        FROM ref.communes a JOIN ref.communes b
          ON a.geom && b.geom AND a.code < b.code AND ST_Intersects(a.geom, b.geom)
        WHERE a.selectable AND b.selectable
        ORDER BY a.code, b.code""")
    neighbours: list[list[int]] = [[] for _ in range(len(c))]
    for r in pairs:
        i, j = c.index[r["a"]], c.index[r["b"]]
        neighbours[i].append(j)
        neighbours[j].append(i)
    for lst in neighbours:
        lst.sort()
    return neighbours


def upper_ascii(text: str) -> str:
    """Name as FINESS writes it in raison sociale: capitals, no accents, hyphens and apostrophes as spaces."""
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    plain = plain.replace("-", " ").replace("'", " ").replace("’", " ")
    return " ".join(plain.upper().split())


def write_lines(path: Path, lines: list[str], encoding: str = "utf-8") -> None:
    """Write lines with LF endings (encoding errors are bugs of the generator, never replaced)."""
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))


def weighted_choice(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with replacement, proportionally to non-negative weights."""
    total = weights.sum()
    if size == 0 or total <= 0:
        return np.zeros(0, dtype=np.int64)
    return rng.choice(len(weights), size=size, p=weights / total)


def expit(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def logit(p: float) -> float:
    """Inverse of expit."""
    return float(np.log(p / (1.0 - p)))


def factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique values, index of each value) — a stable group id for per-group random effects."""
    uniques, inverse = np.unique(values, return_inverse=True)
    return uniques, inverse
