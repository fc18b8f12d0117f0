"""The `;` CSV formats of the other sources: validation of every line before anything is written, with the
file, line number and reason of the first fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.errors import ImportRejected
from services.ingest.files import Column, SourceFile, decode, member_of, natural, one_of, read_csv
from services.ingest.indicators import INDICATOR_HEADER, parse_indicators, period_vintage
from services.ingest.professionals import month_vintage, semester_vintage

COMMUNES = frozenset({"01001", "01002", "75113"})
UNITS = {"pop_ald": "pct", "mt_17_sans": "pct", "urgences": "per100"}
PERIOD = "2023-07-01/2024-06-30"


def source(tmp_path: Path, name: str, lines: list[str], encoding: str = "utf-8") -> SourceFile:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return SourceFile("test", "Test", "test", path, is_demo=True, sha256="0" * 64)


def indicator_lines() -> list[str]:
    return [
        INDICATOR_HEADER,
        f"01001;{PERIOD};pop_ald;158;699",
        f"01001;{PERIOD};urgences;210;699",
        f"01002;{PERIOD};pop_ald;3;40",
        f"75113;{PERIOD};mt_17_sans;9000;80000",
    ]


def test_indicator_file_parsed(tmp_path: Path):
    period, records = parse_indicators(source(tmp_path, "i.csv", indicator_lines()), COMMUNES, UNITS)
    assert period == PERIOD
    assert records[1] == ("urgences", "01001", 210, 699, "test")  # a rate per 100 may exceed 100
    assert len(records) == 4


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (f"01001;{PERIOD};pop_ald;700;699", "exceeds denominateur"),
        (f"01003;{PERIOD};pop_ald;1;10", "unknown selectable commune '01003'"),
        (
            f"75056;{PERIOD};pop_ald;1;10",
            "unknown selectable commune '75056'",
        ),  # Paris counts by arrondissement
        ("01002;2022;mt_17_sans;1;10", "differs from the first line"),
        (f"01002;{PERIOD};ald_08;1;10", "not an indicator of this file"),
        (f"01002;{PERIOD};mt_17_sans;-1;10", "non-negative integers"),
        (
            f"01002;{PERIOD};mt_17_sans;1;１０",
            "non-negative integers",
        ),  # full-width digits are digits to Python
        (f"01002;{PERIOD};mt_17_sans;1", "4 fields, expected 5"),
        (f"01001;{PERIOD};pop_ald;1;10", "duplicate indicator pop_ald for commune 01001"),
    ],
)
def test_indicator_line_rejected_with_its_number(tmp_path: Path, line: str, reason: str):
    lines = indicator_lines()
    lines.insert(3, line)  # line 4 of the file
    with pytest.raises(ImportRejected) as caught:
        parse_indicators(source(tmp_path, "dcir.csv", lines), COMMUNES, UNITS)
    assert (caught.value.file, caught.value.line) == ("dcir.csv", 4)
    assert reason in caught.value.reason


def test_indicator_header_checked(tmp_path: Path):
    with pytest.raises(ImportRejected) as caught:
        parse_indicators(
            source(tmp_path, "i.csv", ["code;periode;indicateur;num;den"] + indicator_lines()[1:]),
            COMMUNES,
            UNITS,
        )
    assert caught.value.line == 1


COLUMNS = [
    Column("code_commune", member_of(COMMUNES, "selectable commune")),
    Column("tranche_age", one_of("0-17", "18-39")),
    Column("consommants", natural),
]


def test_read_csv_rows_and_errors(tmp_path: Path):
    header = "code_commune;tranche_age;consommants"
    assert read_csv(source(tmp_path, "c.csv", [header, "01001;0-17;12"]), COLUMNS) == [("01001", "0-17", 12)]
    cases = {
        "01001;0-17;12;4": (2, "4 fields, expected 3"),
        "01001;0-19;12": (2, "tranche_age: '0-19' not in 0-17, 18-39"),
        "01001;0-17;1.5": (2, "consommants: '1.5' is not a non-negative integer"),
    }
    for line, (number, reason) in cases.items():
        with pytest.raises(ImportRejected) as caught:
            read_csv(source(tmp_path, "c.csv", [header, line]), COLUMNS)
        assert (caught.value.line, caught.value.reason) == (number, reason)
    with pytest.raises(ImportRejected) as caught:
        read_csv(source(tmp_path, "c.csv", ["code;tranche;n", "01001;0-17;12"]), COLUMNS)
    assert caught.value.line == 1
    with pytest.raises(ImportRejected) as caught:
        read_csv(source(tmp_path, "c.csv", [header, "01001;0-17;12", "", "01002;0-17;1"]), COLUMNS)
    assert (caught.value.line, caught.value.reason) == (3, "empty line")


def test_decode_utf8_then_latin1():
    assert decode("f", "Médecin".encode()) == ("Médecin", "utf-8")
    assert decode("f", "Médecin".encode("latin-1")) == ("Médecin", "latin-1")
    assert decode("f", b"\xef\xbb\xbfcode") == ("code", "utf-8")
    with pytest.raises(ImportRejected) as caught:
        decode("f", "a\nb\nMÃ©decin".encode())
    assert caught.value.line == 3


def test_vintages_as_people_read_them():
    assert period_vintage("2023-07-01/2024-06-30") == "01/07/2023–30/06/2024"
    assert period_vintage("2022") == "Année 2022"
    assert month_vintage("2024-11") == "Nov 2024"
    assert semester_vintage("2024-S1") == "S1 2024"
    with pytest.raises(ValueError):
        period_vintage("2024-06-30/2023-07-01")
