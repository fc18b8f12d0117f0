"""Generated attack batches run through the public HTTP API and fed to the auditor

(services/aggregate/audit.py).

Each batch is what one attacker would ask about a small area: its communes one by one, all together, all but
one, random overlapping subsets; the same with a large town or a whole (small) département added; and areas
across a département border whose subsets move the comparison weights (bisection on weighted comparators).
Areas are drawn across metropolitan France, Corsica and the overseas départements from the public commune
geography (ref.communes); every figure the auditor sees comes from the HTTP answers.
"""

from __future__ import annotations

import json
import random
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from .audit import Report, audit

KINDS = ("area", "town", "departement", "border")
ZONES = ("metropole", "corse", "dom")


@dataclass
class Geography:
    """Public commune geography: département and région of each selectable commune, towns, neighbours."""

    units: dict[str, tuple[str, str]]
    by_dep: dict[str, list[str]]
    towns: dict[str, list[str]]  # département -> communes of at least 20 000 inhabitants
    neighbours: dict[str, list[str]]  # commune -> nearest communes (centroids), itself first

    @classmethod
    async def load(cls, dsn: str, sample: int, seed: int) -> Geography:
        """Read the geography and the neighbourhoods of `sample` seed communes per zone."""
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch(
                "SELECT code, departement_code AS dep, region_code AS reg, coalesce(population, 0) AS pop "
                "FROM ref.communes WHERE selectable ORDER BY code"
            )
            rng = random.Random(seed)
            units = {r["code"]: (r["dep"], r["reg"]) for r in rows}
            by_dep: dict[str, list[str]] = {}
            towns: dict[str, list[str]] = {}
            for r in rows:
                by_dep.setdefault(r["dep"], []).append(r["code"])
                if r["pop"] >= 20000:
                    towns.setdefault(r["dep"], []).append(r["code"])
            seeds = []
            for zone in ZONES:
                pool = [c for c, (d, _) in units.items() if _zone(d) == zone]
                seeds += rng.sample(pool, min(sample, len(pool)))
            near = await conn.fetch(
                """
                SELECT s.code, array(SELECT c.code FROM ref.communes c WHERE c.selectable AND c.geom IS NOT
                NULL
                                     ORDER BY c.geom <-> s.geom LIMIT 8) AS near
                FROM ref.communes s WHERE s.code = ANY($1) AND s.geom IS NOT NULL""",
                seeds,
            )
            neighbours = {r["code"]: list(r["near"]) for r in near}
        finally:
            await conn.close()
        return cls(units, by_dep, towns, neighbours)


def _zone(dep: str) -> str:
    return "dom" if dep.startswith("97") else "corse" if dep in ("2A", "2B") else "metropole"


_ANSWERS: dict[tuple[str, tuple[str, ...], tuple[str, ...]], dict[str, Any]] = {}


def cached_diagnosis(url: str, codes: list[str], ald: list[str]) -> dict[str, Any]:
    """The public answer of a selection, asked once per process: answers are deterministic for one data
    version, and an attacker combines the same answers in many batches."""
    key = (url, tuple(sorted(codes)), tuple(ald))
    if key not in _ANSWERS:
        if len(_ANSWERS) > 20000:
            _ANSWERS.clear()
        _ANSWERS[key] = post_diagnosis(url, codes, ald)
    return _ANSWERS[key]


def post_diagnosis(url: str, codes: list[str], ald: list[str]) -> dict[str, Any]:
    """One public answer (POST /v1/diagnosis), as an attacker reads it."""
    body = json.dumps({"communes": codes, "ald": ald}).encode()
    req = urllib.request.Request(
        url + "/v1/diagnosis", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        doc: dict[str, Any] = json.loads(resp.read())
    return doc


def selections(kind: str, area: list[str], geo: Geography, rng: random.Random) -> list[list[str]]:
    """The queries of one batch of the given kind over `area`."""
    qs = [[c] for c in area] + [list(area)]
    qs += [[c for c in area if c != x] for x in area if len(area) > 1]
    for _ in range(2):
        qs.append(rng.sample(area, rng.randint(1, len(area))))
    dep = geo.units[area[0]][0]
    if kind == "town":
        town = [t for t in geo.towns.get(dep, []) or geo.towns.get("75", []) if t not in area][:1]
        if town:
            qs += [town, town + area] + [town + [c for c in area if c != x] for x in area]
    elif kind == "departement":
        whole = geo.by_dep[dep]
        if len(whole) <= 100:
            qs += [list(whole)] + [[c for c in whole if c != x] for x in area[:2] if x in whole]
    elif kind == "border":
        others = [c for c in geo.neighbours.get(area[0], []) if geo.units[c][0] != dep]
        if not others:
            far = next(d for d in geo.by_dep if d != dep)
            others = geo.by_dep[far][:3]
        for _ in range(4):
            qs.append(
                rng.sample(area, rng.randint(1, len(area))) + rng.sample(others, rng.randint(1, len(others)))
            )
    # Every commune asked about is also asked alone: its public counts (professionals) are then known exactly,
    # which only makes the attacker stronger.
    qs += [[c] for c in sorted({c for q in qs for c in q})]
    seen, out = set(), []
    for q in qs:
        key = tuple(sorted(set(q)))
        if key and key not in seen:
            seen.add(key)
            out.append(list(key))
    return out


@dataclass
class CampaignResult:
    """Figures of a campaign, as docs/methodology.md reports them."""

    batches: int = 0
    queries: int = 0
    cells: int = 0
    exposed: list[str] = field(default_factory=list)
    finer_comparators: list[str] = field(default_factory=list)
    narrowest: float = float("inf")
    narrowest_cell: str = ""
    seconds: float = 0.0
    by_zone: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        """One-line summary."""
        return (
            f"{self.batches} lots, {self.queries} requêtes, {self.cells} cellules masquées auditées, "
            f"{len(self.exposed)} exposées, {len(self.finer_comparators)} comparateurs plus fins que publié, "
            f"intervalle le plus étroit {self.narrowest:.2f} ({self.narrowest_cell}), {self.seconds:.0f} s, "
            f"zones {self.by_zone}"
        )


def run_batch(
    url: str,
    geo: Geography,
    kind: str,
    seed_code: str,
    rng: random.Random,
    ald: list[str],
    reference_model: str = "kept",
) -> tuple[list[list[str]], Report]:
    """Draw one area around `seed_code`, ask its queries over HTTP, audit the answers."""
    near = geo.neighbours[seed_code]
    area = near[: rng.randint(2, min(5, len(near)))]
    qs = selections(kind, area, geo, rng)
    answers = [(q, cached_diagnosis(url, q, ald)) for q in qs]
    return qs, audit(answers, reference_model=reference_model, universe=geo.units)


_JOB: dict[str, Any] = {}


def _init(url: str, geo: Geography, seed: int, ald: list[str], reference_model: str) -> None:
    """Each worker receives the geography once (not with every batch)."""
    _JOB.update(url=url, geo=geo, seed=seed, ald=ald, model=reference_model)


def _one(i: int) -> tuple[str, list[list[str]], Report]:
    geo: Geography = _JOB["geo"]
    rng = random.Random(_JOB["seed"] * 1_000_003 + i)
    code = rng.choice(sorted(geo.neighbours))
    # A few ALD prevalences per area (the same for all its queries): each answer then carries them too.
    wanted = random.Random(code).sample(_JOB["ald"], min(5, len(_JOB["ald"])))
    qs, report = run_batch(_JOB["url"], geo, KINDS[i % len(KINDS)], code, rng, wanted, _JOB["model"])
    return _zone(geo.units[code][0]), qs, report


def campaign(
    url: str,
    geo: Geography,
    batches: int,
    seed: int,
    ald: list[str],
    reference_model: str = "kept",
    progress: bool = False,
    workers: int = 1,
) -> CampaignResult:
    """Run `batches` generated batches (kinds in turn, zones at random) on `workers` processes."""
    result = CampaignResult()
    started = time.perf_counter()
    pool = None
    if workers > 1:
        import multiprocessing

        pool = multiprocessing.get_context("spawn").Pool(
            workers, initializer=_init, initargs=(url, geo, seed, ald, reference_model)
        )
        outcomes: Iterable[tuple[str, list[list[str]], Report]] = pool.imap_unordered(_one, range(batches), 4)
    else:
        _init(url, geo, seed, ald, reference_model)
        outcomes = map(_one, range(batches))
    for i, (zone, qs, report) in enumerate(outcomes):
        result.batches += 1
        result.queries += len(qs)
        result.cells += report.cells
        result.by_zone[zone] = result.by_zone.get(zone, 0) + 1
        result.exposed += [e.describe(qs) for e in report.exposed]
        result.finer_comparators += report.finer_comparators
        if report.narrowest < result.narrowest:
            result.narrowest, result.narrowest_cell = report.narrowest, "/".join(report.narrowest_cell or ())
        if progress and (i + 1) % 50 == 0:
            result.seconds = time.perf_counter() - started
            print(f"[{i + 1}/{batches}] {result.line()}", flush=True)
    if pool is not None:
        pool.close()
    result.seconds = time.perf_counter() - started
    return result
