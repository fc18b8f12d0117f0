"""FINESS etalab parser on tiny real-format files: encodings, both sourcecoordet formats, overseas rows,
centroid rows, skipped categories and territories, and malformed lines refused with their line number."""

from __future__ import annotations

import numpy as np
import pytest

from services.common.errors import ImportRejected
from services.ingest.finess import to_wgs84
from services.ingest.finess_format import insee_code, parse, parse_sourcecoordet

CATEGORIES = frozenset({"355", "500", "603", "124", "101"})
DEPARTEMENTS = frozenset({"01", "2A", "75", "971", "974"})
COMMUNES = frozenset({"01451", "01053", "2A004", "75056", "75113", "97101", "97411"})

HEADER = "finess;etalab;111;2024-11-08"


def structure(
    nofinesset: str,
    commune: str,
    dep: str,
    categetab: str,
    rs: str = "CH DE TEST",
    libcat: str = "Centre Hospitalier (C.H.)",
    ej: str = "010780054",
) -> str:
    """One structureet line: 32 fields, the last (numuai) empty, as in the real files."""
    fields = [
        "structureet",
        nofinesset,
        ej,
        rs,
        rs,
        "",
        "",
        "900",
        "RTE",
        "DE PARIS",
        "",
        "",
        commune,
        dep,
        "AIN",
        f"01440 {rs}",
        "0474454647",
        "",
        categetab,
        libcat,
        "1102",
        "Centres Hospitaliers",
        "26010004500012",
        "8610Z",
        "03",
        "ARS",
        "1",
        "Etablissement public de santé",
        "1979-02-13",
        "1979-02-13",
        "2020-02-04",
        "",
    ]
    assert len(fields) == 32
    return ";".join(fields)


def geo(nofinesset: str, x: str, y: str, source: str) -> str:
    """One geolocalisation line (6 fields)."""
    return f"geolocalisation;{nofinesset};{x};{y};{source};2021-01-04"


METRO_NEW = "1,ATLASANTE,96,BAN,EPSG:2154 RGF93 / Lambert-93 (Métropole)"
METRO_OLD = "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93"
ANTILLES = "2,ATLASANTE,96,BAN,EPSG:5490 RGAF09/UTM Zone 20N (Antilles)"
REUNION_OLD = "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,UTM_S40"
CENTROID = "4,ATLASANTE,.,ADMIN-EXPRESS-2023,EPSG:2154 RGF93 / Lambert-93 (Métropole)"


def sample_lines() -> list[str]:
    """A metropolitan hospital (new format), an EHPAD (old format), a Guadeloupe clinic, a Réunion MSP,
    a centroid-geocoded centre de santé, a category Rézone ignores and a Saint-Pierre-et-Miquelon row."""
    return [
        HEADER,
        structure("010000024", "451", "01", "355", rs="CH DE FLEYRIAT"),
        structure("010000032", "053", "01", "500", rs="EHPAD LES TILLEULS"),
        structure("970100012", "101", "9A", "355", rs="POLYCLINIQUE DE LA GUADELOUPE"),
        structure("970400016", "411", "9D", "603", rs="MSP SAINT DENIS"),
        structure("2A0000018", "004", "2A", "124", rs="CENTRE DE SANTE AJACCIO"),
        structure("010000040", "451", "01", "620", rs="PHARMACIE DU CENTRE"),
        structure("970500011", "502", "9E", "355", rs="CH SAINT PIERRE"),
        geo("010000024", "870262.2", "6571540.8", METRO_NEW),
        geo("010000032", "870215.7", "6571590.5", METRO_OLD),
        geo("970100012", "657242.9", "1795384.4", ANTILLES),
        geo("970400016", "323086.6", "7679599.8", REUNION_OLD),
        geo("2A0000018", "1177505.6", "6104345.4", CENTROID),
        geo("010000040", "870000.0", "6571000.0", METRO_NEW),
        geo(
            "970500011",
            "561000.0",
            "5182000.0",
            "2,ATLASANTE,90,BAN,WGS84/UTM zone 21N (St-Pierre-et-Miquelon)",
        ),
    ]


def run(lines: list[str], encoding: str = "latin-1"):
    return parse(
        "etalab-cs1100507-stock-20241108-0336.csv",
        ("\n".join(lines) + "\n").encode(encoding),
        CATEGORIES,
        DEPARTEMENTS,
        COMMUNES,
    )


def rejection(lines: list[str], encoding: str = "utf-8") -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        run(lines, encoding)
    return caught.value


def test_sourcecoordet_recent_old_and_label_without_epsg():
    recent = parse_sourcecoordet(METRO_NEW)
    assert (recent.epsg, recent.geocoder, recent.score, recent.approximate) == (2154, "BAN", 96, False)
    old = parse_sourcecoordet(REUNION_OLD)
    assert (old.epsg, old.score, old.approximate) == (2975, 100, False)
    assert parse_sourcecoordet("2,ATLASANTE,90,BAN,WGS84/UTM zone 21N (St-Pierre-et-Miquelon)").epsg == 32621
    assert parse_sourcecoordet("4,ATLASANTE,.,MAPS x,WGS84/UTM zone 1S (Wallis-et-Futuna)").epsg == 32701
    centroid = parse_sourcecoordet(CENTROID)
    assert centroid.approximate and centroid.score is None and centroid.geocoder == "ADMIN-EXPRESS-2023"
    for bad in (
        "1,ATLASANTE,96,BAN",
        "1,ATLASANTE,96,BAN,EPSG:9999 Nowhere",
        "1,ATLASANTE,high,BAN,EPSG:2154 x",
    ):
        with pytest.raises(ValueError):
            parse_sourcecoordet(bad)


def test_insee_code_from_finess_departement():
    assert insee_code("9A", "101") == ("971", "97101")
    assert insee_code("9D", "411") == ("974", "97411")
    assert insee_code("9F", "611") == ("976", "97611")
    assert insee_code("2A", "004") == ("2A", "2A004")
    assert insee_code("01", "451") == ("01", "01451")
    with pytest.raises(ValueError):
        insee_code("9A", "411")  # a Réunion commune number under Guadeloupe
    with pytest.raises(ValueError):
        insee_code("9Z", "101")


def test_parse_keeps_shown_categories_and_counts_the_rest():
    parsed = run(sample_lines())
    assert parsed.encoding == "latin-1"
    assert str(parsed.extraction_date) == "2024-11-08"
    rows = {r[0]: r for r in parsed.rows}
    assert sorted(rows) == ["010000024", "010000032", "2A0000018", "970100012", "970400016"]
    assert parsed.skipped == {"category": 1, "territory": 1}
    assert rows["970100012"][19] == "97101" and rows["970100012"][18] == "9A"
    assert rows["970400016"][19] == "97411" and rows["970400016"][22] == 2975
    assert rows["010000032"][22] == 2154 and rows["010000032"][24] == "IGN BD_ADRESSE V2.2"
    assert rows["2A0000018"][26] is True and rows["2A0000018"][25] is None  # centroid: approximate
    assert rows["010000024"][26] is False and rows["010000024"][25] == 96


def test_utf8_and_latin1_give_the_same_rows():
    assert run(sample_lines(), "utf-8").rows == run(sample_lines(), "latin-1").rows
    assert run(sample_lines(), "utf-8").encoding == "utf-8"


def test_dom_rows_reprojected_from_their_own_crs():
    """Lambert-93, RGAF09 UTM 20N and RGR92 UTM 40S points of pyproj's own test suite, back to WGS 84."""
    epsg = np.array([2154, 5490, 2975])
    x = np.array([870262.2, 657242.9, 323086.6])
    y = np.array([6571540.8, 1795384.4, 7679599.8])
    lon, lat = to_wgs84(epsg, x, y)
    assert lon == pytest.approx([5.20918, -61.52874, 55.29821], abs=1e-4)
    assert lat == pytest.approx([46.22229, 16.234, -20.97571], abs=1e-4)
    # The same Guadeloupe metres read as Lambert-93 land nowhere near the Antilles: why the CRS is per row.
    wrong_lon, _ = to_wgs84(np.array([2154]), x[1:2], y[1:2])
    assert abs(wrong_lon[0] - (-61.5)) > 50


def test_rows_without_point_are_kept_and_flagged():
    lines = sample_lines()
    lines[8] = geo("010000024", "", "", "")
    row = {r[0]: r for r in run(lines).rows}["010000024"]
    assert row[20] is None and row[26] is True


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (structure("010000099", "451", "01", "355")[:-1], "31 fields"),
        (structure("01000002", "451", "01", "355"), "nofinesset"),
        (structure("010000099", "45", "01", "355"), "commune"),
        (structure("010000099", "999", "01", "355"), "unknown commune 01999"),
        (structure("010000099", "451", "01", "355").replace("1979-02-13", "13/02/1979", 1), "dateouv"),
        (geo("010000024", "870262,2", "6571540.8", METRO_NEW), "not numbers"),
        (
            geo("010000024", "870262.2", "6571540.8", "1,ATLASANTE,96,BAN,EPSG:27572 Lambert II"),
            "unknown CRS",
        ),
        (geo("999999999", "870262.2", "6571540.8", METRO_NEW), "no structureet"),
        ("structureetx;010000024", "unknown line type"),
    ],
)
def test_malformed_line_rejected_with_its_number(line: str, reason: str):
    lines = sample_lines()
    lines.insert(4, line)  # becomes line 5 of the file
    error = rejection(lines)
    assert error.line == 5, error
    assert reason in error.reason
    assert error.file == "etalab-cs1100507-stock-20241108-0336.csv"


def test_bad_header_and_duplicates_rejected():
    assert rejection(["finess;etalab;2024-11-08"] + sample_lines()[1:]).line == 1
    lines = sample_lines()
    lines.insert(2, lines[1])
    assert "appears twice" in rejection(lines).reason
    lines = sample_lines() + [geo("010000024", "1.0", "2.0", METRO_NEW)]
    error = rejection(lines)
    assert error.line == len(lines) and "second geolocalisation" in error.reason


def test_mojibake_refused_with_its_line():
    lines = sample_lines()
    lines[2] = lines[2].replace("EHPAD LES TILLEULS", "EHPAD LES TILLEULS Ã©TAGE")
    error = rejection(lines, "utf-8")
    assert error.line == 3 and "mojibake" in error.reason


@pytest.mark.parametrize("lost", ["\ufffd", "\u00ef\u00bf\u00bd"])
def test_replacement_character_refused_with_its_line(lost: str):
    """A Latin-1 FINESS file read as UTF-8 with replacement upstream ("é" → U+FFFD, or "ï¿½" once
    double-encoded as well): the accents are gone for good, so it is refused, not loaded."""
    lines = sample_lines()
    lines[3] = lines[3].replace("POLYCLINIQUE", f"POLYCLINIQUE R{lost}SIDENCE")
    error = rejection(lines, "utf-8")
    assert error.line == 4 and "replacement character" in error.reason
