"""FINESS géographique, etalab extraction (`etalab-cs1100507-stock-*.csv`): parsing and validation.

Not a real CSV: a header line `finess;etalab;<n>;<YYYY-MM-DD>`, then `structureet` lines (32 fields) and
`geolocalisation` lines (6 fields), `;`-separated, no quoting, parsed by position. Coordinates are projected
metres in the CRS each row declares in `sourcecoordet` (finess.py reprojects them).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..common.errors import ImportRejected
from .files import decode, split_lines

STRUCTURE_FIELDS = 32
GEO_FIELDS = 6
FILE_PATTERN = "etalab-cs1100507-stock-*.csv"

# FINESS writes overseas départements with a letter; the INSEE code is then 97 + the 3-digit commune.
DOM_DEPARTEMENTS = {"9A": "971", "9B": "972", "9C": "973", "9D": "974", "9E": "975", "9F": "976", "9J": "986"}
# Old (≈2020) 7-token sourcecoordet ends with a projection name instead of an EPSG label.
EPSG_BY_OLD_TOKEN = {
    "LAMBERT_93": 2154,
    "UTM_N20": 5490,
    "UTM_N21": 32621,
    "UTM_N22": 2972,
    "UTM_S38": 4471,
    "UTM_S40": 2975,
}
# Recent labels of Saint-Pierre-et-Miquelon and Wallis-et-Futuna carry no "EPSG:" prefix.
EPSG_BY_LABEL_PREFIX = {"WGS84/UTM zone 21N": 32621, "WGS84/UTM zone 1S": 32701}
KNOWN_EPSG = frozenset({2154, 5490, 2972, 2975, 4471, 32621, 32701})
# Geocoders that place a row on a commune centroid: their score is '.', and the point is only approximate.
CENTROID_GEOCODERS = ("ADMIN-EXPRESS", "MAPS")

_HEADER = re.compile(r"finess;etalab;[0-9]+;([0-9]{4}-[0-9]{2}-[0-9]{2})")
_NOFINESS = re.compile(r"[0-9A-Z]{9}")
_DEPARTEMENT = re.compile(r"[0-9]{2}|2A|2B|9[A-Z]")
_COMMUNE = re.compile(r"[0-9]{3}")
_CATEGORY = re.compile(r"[0-9]{3}")
_EPSG_LABEL = re.compile(r"EPSG:([0-9]+)\b")


@dataclass(frozen=True)
class Geocoding:
    """What a `sourcecoordet` says: CRS, geocoder, score, and whether the point is a commune centroid."""

    epsg: int
    geocoder: str
    score: int | None
    approximate: bool


def parse_sourcecoordet(text: str) -> Geocoding:
    """Parse by position: recent `precision,ATLASANTE,score,geocoder,CRS label` or old 7-token form."""
    tokens = text.split(",")
    if len(tokens) == 7 and tokens[6] in EPSG_BY_OLD_TOKEN:
        epsg = EPSG_BY_OLD_TOKEN[tokens[6]]
        geocoder = " ".join(t for t in tokens[3:6] if t)
    elif len(tokens) == 5:
        label = tokens[4].strip()
        m = _EPSG_LABEL.match(label)
        if m:
            epsg = int(m.group(1))
        else:
            epsg = next((v for k, v in EPSG_BY_LABEL_PREFIX.items() if label.startswith(k)), 0)
        if epsg not in KNOWN_EPSG:
            raise ValueError(f"sourcecoordet: unknown CRS {label!r}")
        geocoder = tokens[3].strip()
    else:
        raise ValueError(
            f"sourcecoordet: {len(tokens)} comma-separated tokens, expected 5 (or 7, old format)"
        )
    raw_score = tokens[2].strip()
    if raw_score == ".":
        score = None
    elif raw_score.isdigit():
        score = int(raw_score)
    else:
        raise ValueError(f"sourcecoordet: score {raw_score!r} is neither a number nor '.'")
    approximate = score is None or geocoder.upper().startswith(CENTROID_GEOCODERS)
    return Geocoding(epsg, geocoder, score, approximate)


def insee_code(departement: str, commune: str) -> tuple[str, str]:
    """(INSEE département, INSEE commune code) from FINESS `departement` and 3-digit `commune`."""
    if departement in DOM_DEPARTEMENTS:
        dep = DOM_DEPARTEMENTS[departement]
        if commune[0] != dep[2]:
            raise ValueError(f"commune {commune!r} does not belong to département {departement} ({dep})")
        return dep, "97" + commune
    if departement.startswith("9") and not departement.isdigit():
        raise ValueError(f"unknown overseas département code {departement!r}")
    return departement, departement + commune


def _date(text: str, what: str) -> dt.date | None:
    if text == "":
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a date YYYY-MM-DD") from None


@dataclass
class Parsed:
    """A validated FINESS file: kept establishments (staging rows) and what was skipped."""

    extraction_date: dt.date
    encoding: str
    rows: list[list[str]]
    lines: int
    skipped: Counter[str]


def parse(
    name: str, data: bytes, categories: frozenset[str], departements: frozenset[str], communes: frozenset[str]
) -> Parsed:
    """Validate every line; rows of categories Rézone does not show, or of territories outside the
    reference (Saint-Pierre-et-Miquelon, Wallis…), are skipped and counted, never silently dropped."""
    text, encoding = decode(name, data)
    lines = split_lines(name, text)
    header = _HEADER.fullmatch(lines[0]) if lines else None
    if not header:
        raise ImportRejected(name, 1, "first line must be 'finess;etalab;<n>;<YYYY-MM-DD>'")
    try:
        extraction = dt.date.fromisoformat(header.group(1))
    except ValueError:
        raise ImportRejected(name, 1, f"extraction date {header.group(1)!r} is not a date") from None

    kept: dict[str, list[Any]] = {}
    known: set[str] = set()
    located: set[str] = set()
    structure_line: dict[str, int] = {}
    skipped: Counter[str] = Counter()
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(";")
        try:
            if fields[0] == "structureet":
                _structure(fields, kept, known, skipped, categories, departements, communes)
                structure_line[fields[1]] = number
            elif fields[0] == "geolocalisation":
                _geolocation(fields, kept, known, located)
            else:
                raise ValueError(f"unknown line type {fields[0]!r} (expected structureet or geolocalisation)")
        except ValueError as exc:
            raise ImportRejected(name, number, str(exc)) from None
    _check_complete(name, structure_line, located, len(lines))
    return Parsed(extraction, encoding, list(kept.values()), len(lines), skipped)


def _check_complete(name: str, structure_line: dict[str, int], located: set[str], lines: int) -> None:
    """Every structureet has its geolocalisation line (even an empty one): a file cut short loses the
    second half of the pairs first, and loading it would silently drop thousands of points from the map."""
    if not structure_line:
        raise ImportRejected(name, lines, "no structureet line: the file holds no establishment")
    missing = [n for n in structure_line if n not in located]
    if missing:
        first = min(missing, key=structure_line.__getitem__)
        raise ImportRejected(
            name,
            structure_line[first],
            f"structureet {first} has no geolocalisation line ({len(missing)} of {len(structure_line)} "
            f"establishments lack theirs; the file ends at line {lines}: cut short?)",
        )


def _structure(
    f: list[str],
    kept: dict[str, list[Any]],
    known: set[str],
    skipped: Counter[str],
    categories: frozenset[str],
    departements: frozenset[str],
    communes: frozenset[str],
) -> None:
    if len(f) != STRUCTURE_FIELDS:
        raise ValueError(f"structureet has {len(f)} fields, expected {STRUCTURE_FIELDS}")
    nofinesset, nofinessej, rs = f[1], f[2], f[3].strip()
    commune, departement, categetab = f[12], f[13], f[18]
    if not _NOFINESS.fullmatch(nofinesset):
        raise ValueError(f"nofinesset {nofinesset!r} is not 9 digits or capitals")
    if not _NOFINESS.fullmatch(nofinessej):
        raise ValueError(f"nofinessej {nofinessej!r} is not 9 digits or capitals")
    if nofinesset in known:
        raise ValueError(f"nofinesset {nofinesset} appears twice")
    if not rs:
        raise ValueError("rs (raison sociale) is empty")
    if not _COMMUNE.fullmatch(commune):
        raise ValueError(f"commune {commune!r} is not 3 digits")
    if not _DEPARTEMENT.fullmatch(departement):
        raise ValueError(f"departement {departement!r} is not a FINESS département code")
    if not _CATEGORY.fullmatch(categetab):
        raise ValueError(f"categetab {categetab!r} is not 3 digits")
    dateouv, datemaj = _date(f[28], "dateouv"), _date(f[30], "datemaj")
    dep, code = insee_code(departement, commune)
    known.add(nofinesset)
    if categetab not in categories:
        skipped["category"] += 1
        return
    if dep not in departements:
        skipped["territory"] += 1
        return
    if code not in communes:
        raise ValueError(f"unknown commune {code} (département {departement}, commune {commune})")
    kept[nofinesset] = [
        nofinesset,
        nofinessej,
        rs,
        f[4] or None,
        f[5] or None,
        f[7] or None,
        f[8] or None,
        f[9] or None,
        f[10] or None,
        f[11] or None,
        f[15] or None,
        f[16] or None,
        categetab,
        f[20] or None,
        f[24] or None,
        f[26] or None,
        dateouv,
        datemaj,
        departement,
        code,
        None,
        None,
        None,
        None,
        None,
        None,
        True,  # coordinates filled by the geolocalisation line
    ]


def _geolocation(f: list[str], kept: dict[str, list[Any]], known: set[str], located: set[str]) -> None:
    if len(f) != GEO_FIELDS:
        raise ValueError(f"geolocalisation has {len(f)} fields, expected {GEO_FIELDS}")
    nofinesset, raw_x, raw_y, sourcecoordet = f[1], f[2], f[3], f[4]
    if nofinesset not in known:
        raise ValueError(f"geolocalisation of {nofinesset!r}, which has no structureet line before it")
    if nofinesset in located:
        raise ValueError(f"second geolocalisation of {nofinesset}")
    located.add(nofinesset)
    _date(f[5], "datemaj")
    if raw_x == "" and raw_y == "":
        if sourcecoordet:
            parse_sourcecoordet(sourcecoordet)
        return  # not geocoded: the establishment still counts in its declared commune
    try:
        x, y = float(raw_x), float(raw_y)
    except ValueError:
        raise ValueError(f"coordinates {raw_x!r}, {raw_y!r} are not numbers") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"coordinates {raw_x!r}, {raw_y!r} are not finite")
    if not sourcecoordet:
        raise ValueError("coordinates without sourcecoordet: their CRS is unknown")
    geo = parse_sourcecoordet(sourcecoordet)
    row = kept.get(nofinesset)
    if row is not None:
        row[20:27] = [x, y, geo.epsg, sourcecoordet, geo.geocoder, geo.score, geo.approximate]
