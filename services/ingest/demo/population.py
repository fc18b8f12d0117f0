"""Demo consumers by age band and the consumer-based indicators (DCIR, ATIH, flu vaccination files).

Model (documented in docs/data.md): consumers = Poisson(population × coverage ≈ 1.075); age shares tilted
by an "ageing" score (département effect, smaller communes older, overseas younger); every indicator
denominator is a sub-population drawn binomially from the age bands, and every numerator is
Binomial(denominator, p) with p = expit(logit(national rate) + département effect + commune effect), so
small communes get small, noisy counts and the secrecy rules trigger where they would on real data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import Communes, expit, factorize, logit, stream, write_lines

AGE_BANDS = ("0-17", "18-39", "40-64", "65-79", "80+")
BASE_SHARES = np.array([0.19, 0.255, 0.34, 0.145, 0.07])
# How each band's share responds to the ageing score (older territories: fewer children, more 65+).
AGEING_LOADING = np.array([-0.8, -0.6, 0.0, 0.9, 1.1])
COVERAGE = 1.075  # consumers per inhabitant (seed report: 109 k consumers for 100.6 k inhabitants)
DOM_AGEING = {"971": -0.3, "972": -0.1, "973": -1.2, "974": -0.6, "976": -1.5}

PERIOD_DCIR = "2023-07-01/2024-06-30"
PERIOD_ATIH = "2022"
PERIOD_GRIPPE = "2023-04-01/2023-12-31"


@dataclass(frozen=True)
class Rate:
    """National rate of an indicator and the spread of its local variation (logit scale)."""

    indicator: str
    rate: float
    sd_dep: float = 0.12
    sd_commune: float = 0.08
    ageing: float = 0.0  # loading on the commune's ageing score (prevalences of old age)
    deprivation: float = 0.0  # loading on the département's deprivation score


# National rates near those printed in the seed report (France column, 2024 report).
RATES = {
    "pop_ald": Rate("pop_ald", 0.21, ageing=0.4, deprivation=0.1),
    "pop_c2s": Rate("pop_c2s", 0.08, sd_dep=0.15, sd_commune=0.25, deprivation=0.45),
    "mt_17_sans": Rate("mt_17_sans", 0.114, sd_dep=0.2, sd_commune=0.15, deprivation=0.15),
    "mt_70_sans": Rate("mt_70_sans", 0.052, sd_dep=0.2, sd_commune=0.15, deprivation=0.1),
    "admissions_directes": Rate("admissions_directes", 0.37, sd_dep=0.15),
    "polymedication": Rate("polymedication", 0.171, sd_dep=0.12),
    "psychotropes": Rate("psychotropes", 0.051, sd_dep=0.15),
    "bzd_anxiolytique": Rate("bzd_anxiolytique", 0.166),
    "bzd_hypnotique": Rate("bzd_hypnotique", 0.458),
    "antibioresistance": Rate("antibioresistance", 0.335, sd_dep=0.06),
    "antibio_moins_4": Rate("antibio_moins_4", 0.26, sd_dep=0.2),
    "antibio_4_16": Rate("antibio_4_16", 0.144, sd_dep=0.2),
    "depistage_sein": Rate("depistage_sein", 0.623, sd_dep=0.15),
    "depistage_colorectal": Rate("depistage_colorectal", 0.327, sd_dep=0.2),
    "depistage_col": Rate("depistage_col", 0.532, sd_dep=0.15),
    "bucco_dentaire": Rate("bucco_dentaire", 0.754, sd_dep=0.15),
    "grippe_65": Rate("grippe_65", 0.539, sd_dep=0.15),
    "grippe_risque": Rate("grippe_risque", 0.266, sd_dep=0.15),
    "ror": Rate("ror", 0.846, sd_dep=0.2),
    "meningocoque_c": Rate("meningocoque_c", 0.971, sd_dep=0.3),
}
# Shares of the "sans médecin traitant" 17+ who are also in ALD / covered by the C2S (1.1 % and 1.6 % of
# all consumers 17+ nationally, out of 11.4 %).
SANS_MT_ALD = 0.011 / 0.114
SANS_MT_C2S = 0.016 / 0.114
URGENCES_PER_100 = 19.8

# ALD prevalence among all consumers (list of 30, n° 12 removed), with the weight of age.
ALD_PREVALENCE = {
    1: (0.0075, 0.8),
    2: (0.0012, 0.3),
    3: (0.0090, 0.8),
    4: (0.00002, 0.0),
    5: (0.0230, 0.9),
    6: (0.0035, 0.3),
    7: (0.0025, -0.2),
    8: (0.0560, 0.5),
    9: (0.0060, 0.2),
    10: (0.0006, -0.3),
    11: (0.0003, 0.0),
    13: (0.0240, 0.8),
    14: (0.0060, 0.6),
    15: (0.0055, 1.2),
    16: (0.0033, 1.0),
    17: (0.0020, 0.0),
    18: (0.0001, -0.5),
    19: (0.0050, 0.6),
    20: (0.0008, 0.0),
    21: (0.0020, 0.2),
    22: (0.0040, 0.4),
    23: (0.0260, -0.1),
    24: (0.0045, -0.1),
    25: (0.0017, 0.0),
    26: (0.0004, -0.5),
    27: (0.0030, 0.0),
    28: (0.0011, 0.2),
    29: (0.0002, 0.0),
    30: (0.0380, 0.6),
}


@dataclass
class Consumers:
    """Consumers per selectable unit (rows follow `units`), with the sub-populations indicators use."""

    units: np.ndarray  # indices into Communes
    bands: np.ndarray  # (n, 5) counts per age band
    ageing: np.ndarray
    dep_group: np.ndarray  # département group id per unit
    n_deps: int

    @property
    def total(self) -> np.ndarray:
        """All-age consumers."""
        out: np.ndarray = self.bands.sum(axis=1)
        return out


def consumers(c: Communes) -> Consumers:
    """Draw consumers by age band for every selectable unit."""
    rng = stream("consumers")
    units = np.flatnonzero(c.selectable)
    deps, dep_group = factorize(c.dep[units])
    pop = c.pop_est[units].astype(float)
    coverage = COVERAGE * np.exp(rng.normal(0, 0.02, len(deps))[dep_group] + rng.normal(0, 0.03, len(units)))
    total = rng.poisson(pop * coverage)
    dom = np.array([DOM_AGEING.get(d, 0.0) for d in deps])
    ageing = (
        rng.normal(0, 0.25, len(deps))[dep_group]
        + dom[dep_group]
        - 0.12 * np.log10(np.maximum(pop, 10) / 2000)
        + rng.normal(0, 0.15, len(units))
    )
    shares = BASE_SHARES[None, :] * np.exp(ageing[:, None] * AGEING_LOADING[None, :])
    shares /= shares.sum(axis=1, keepdims=True)
    bands = rng.multinomial(total, shares)
    return Consumers(units, bands, ageing, dep_group, len(deps))


def indicator_counts(c: Communes, k: Consumers) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Numerator and denominator of every indicator for every unit, in ref.indicators ids."""
    rng = stream("indicators")
    b = k.bands
    n = len(k.units)
    total = k.total
    c0, c17, c65 = b[:, 0], b[:, 1:].sum(axis=1), b[:, 3] + b[:, 4]
    c70 = rng.binomial(b[:, 3], 0.62) + b[:, 4]
    c75 = rng.binomial(b[:, 3], 0.30) + b[:, 4]
    dom = np.array([d.startswith("97") for d in np.unique(c.dep[k.units])])
    deprivation = rng.normal(0, 1, k.n_deps) + 2.5 * dom

    def prob(rate: Rate, den: np.ndarray) -> np.ndarray:
        dep_effect = rng.normal(0, rate.sd_dep, k.n_deps) + rate.deprivation * deprivation
        return calibrated(
            logit(rate.rate)
            + dep_effect[k.dep_group]
            + rate.ageing * k.ageing
            + rng.normal(0, rate.sd_commune, n),
            den,
            rate.rate,
        )

    def draw(ind: str, den: np.ndarray) -> None:
        out[ind] = (rng.binomial(den, prob(RATES[ind], den)), den)

    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    draw("pop_ald", c17)
    draw("pop_c2s", c17)
    draw("mt_17_sans", c17)
    sans = out["mt_17_sans"][0]
    # Among those without médecin traitant, the share in ALD varies a little; the share covered by the C2S
    # follows the commune's own C2S share. Both scaled to their national shares of all consumers 17+.
    ald_tilt = np.exp(rng.normal(0, 0.1, n))
    out["mt_17_sans_ald"] = (rng.binomial(sans, _scaled(ald_tilt, sans, SANS_MT_ALD)), c17)
    c2s_tilt = (out["pop_c2s"][0] + 1) / (c17 + 12.5)  # ≈ the commune's C2S share, smoothed
    out["mt_17_sans_c2s"] = (rng.binomial(sans, _scaled(c2s_tilt, sans, SANS_MT_C2S)), c17)
    draw("mt_70_sans", c70)
    urgences = np.exp(rng.normal(0, 0.12, k.n_deps)[k.dep_group] + rng.normal(0, 0.1, n))
    urgences *= URGENCES_PER_100 / 100 * c17.sum() / max(float((urgences * c17).sum()), 1.0)
    out["urgences"] = (rng.poisson(c17 * urgences), c17)
    draw("admissions_directes", rng.binomial(total, 0.036))
    draw("polymedication", c65)
    draw("psychotropes", rng.binomial(c75, 0.93))
    draw("bzd_anxiolytique", rng.binomial(total, 0.067))
    draw("bzd_hypnotique", rng.binomial(total, 0.023))
    draw("antibioresistance", rng.binomial(total, 0.38))
    draw("antibio_moins_4", rng.binomial(c0, 0.115))
    draw("antibio_4_16", rng.binomial(c0, 0.37))
    draw("depistage_sein", rng.binomial(b[:, 2], 0.29) + rng.binomial(b[:, 3], 0.36))
    draw("depistage_colorectal", rng.binomial(b[:, 2], 0.55) + rng.binomial(b[:, 3], 0.45))
    draw("depistage_col", rng.binomial(b[:, 1], 0.40) + rng.binomial(b[:, 2], 0.45))
    draw("bucco_dentaire", rng.binomial(c0, 0.29))
    draw("grippe_65", c65)
    draw("grippe_risque", rng.binomial(b[:, 1] + b[:, 2], 0.07))
    draw("ror", rng.binomial(c0, 0.052))
    draw("meningocoque_c", rng.binomial(c0, 0.051))
    for number, (rate, age_weight) in ALD_PREVALENCE.items():
        p = calibrated(
            logit(rate)
            + rng.normal(0, 0.12, k.n_deps)[k.dep_group]
            + age_weight * k.ageing
            + rng.normal(0, 0.08, n),
            total,
            rate,
        )
        out[f"ald_{number:02d}"] = (rng.binomial(total, p), total)
    return out


def calibrated(logits: np.ndarray, weights: np.ndarray, rate: float) -> np.ndarray:
    """Probabilities expit(logits + δ), δ chosen (Newton) so that their weighted mean is the national rate:
    local effects then move communes around the national figure without moving the figure itself."""
    w = weights.astype(float)
    total = max(float(w.sum()), 1.0)
    shift = 0.0
    for _ in range(30):
        p = expit(logits + shift)
        gap = float((w * p).sum()) / total - rate
        slope = float((w * p * (1 - p)).sum()) / total
        if abs(gap) < 1e-9 or slope <= 0:
            break
        shift -= gap / slope
    return expit(logits + shift)


def _scaled(tilt: np.ndarray, among: np.ndarray, share_of_among: float) -> np.ndarray:
    """Conditional probabilities ∝ tilt whose expected total among `among` is share_of_among × its total."""
    k = share_of_among * float(among.sum()) / max(float((tilt * among).sum()), 1.0)
    return np.clip(k * tilt, 0.0, 0.95)


SOURCE_OF = {  # which file carries which indicator (ref.indicators.source_key)
    "urgences": "atih",
    "admissions_directes": "atih",
    "grippe_65": "dcir_grippe",
    "grippe_risque": "dcir_grippe",
}


def write(c: Communes, out_dir: Path) -> dict[str, str]:
    """Write the consumers file and the three indicator files; returns {source key: file name}."""
    k = consumers(c)
    counts = indicator_counts(c, k)
    codes = c.code[k.units]
    lines = ["code_commune;periode;tranche_age;consommants"]
    for code, row in zip(codes, k.bands.tolist(), strict=True):
        lines.extend(f"{code};{PERIOD_DCIR};{band};{v}" for band, v in zip(AGE_BANDS, row, strict=True))
    files = {"dcir_consommants": "dcir_consommants-2023-07-2024-06.csv"}
    write_lines(out_dir / files["dcir_consommants"], lines)

    per_file = {
        "dcir": (PERIOD_DCIR, "dcir_indicateurs", "dcir_indicateurs-2023-07-2024-06.csv"),
        "atih": (PERIOD_ATIH, "atih_indicateurs", "atih_indicateurs-2022.csv"),
        "dcir_grippe": (PERIOD_GRIPPE, "dcir_grippe", "dcir_grippe-2023-04-2023-12.csv"),
    }
    for key, (period, source, name) in per_file.items():
        ids = [i for i in counts if SOURCE_OF.get(i, "dcir") == key]
        columns = [(i, counts[i][0].tolist(), counts[i][1].tolist()) for i in ids]
        lines = ["code_commune;periode;indicateur;numerateur;denominateur"]
        for row, code in enumerate(codes):
            prefix = f"{code};{period};"
            lines.extend(f"{prefix}{i};{num[row]};{den[row]}" for i, num, den in columns)
        write_lines(out_dir / name, lines)
        files[source] = name
    return files
