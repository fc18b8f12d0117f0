"""CSV export and project files through the real report service: formats, round trips, refusals."""

from __future__ import annotations

import csv

import aiohttp
import msgspec
import pytest

from .conftest import MULTI, SMALL

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def post_json(http: aiohttp.ClientSession, url: str, body: dict) -> tuple[int, bytes, dict]:
    async with http.post(url, json=body) as resp:
        return resp.status, await resp.read(), dict(resp.headers)


async def import_file(http: aiohttp.ClientSession, url: str, data: bytes) -> tuple[int, dict]:
    async with http.post(
        f"{url}/v1/project/import", data=data, headers={"Content-Type": "text/plain; charset=utf-8"}
    ) as resp:
        return resp.status, msgspec.json.decode(await resp.read())


async def save(http: aiohttp.ClientSession, url: str, **body) -> bytes:
    status, data, headers = await post_json(http, f"{url}/v1/project", body)
    assert status == 200, data
    assert headers["Content-Type"].startswith("text/plain")
    return data


# CSV ------------------------------------------------------------


async def test_csv_export_format(http, report_url):
    status, data, headers = await post_json(http, f"{report_url}/v1/export.csv", {"communes": MULTI})
    assert status == 200, data
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    text = data.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")  # CRLF only
    lines = text.split("\r\n")
    body = [ln for ln in lines if ln and not ln.startswith("#")]
    comments = [ln for ln in lines if ln.startswith("#")]
    rows = list(csv.reader(body, delimiter=";"))
    header, rows = rows[0], rows[1:]
    assert header[:11] == [
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
    assert header[-1] == "Structures (FINESS)"
    assert any(h.endswith("(professionnels)") for h in header)
    assert sorted(r[0] for r in rows) == sorted(MULTI)
    by_code = {r[0]: r for r in rows}
    assert by_code["78062"][1] == "Beynes" and by_code["78062"][3] == "Yvelines"
    assert by_code["06122"][5] == "Provence-Alpes-Côte d'Azur"
    assert all(len(r) == len(header) for r in rows)
    assert all(r[6].isdigit() for r in rows)  # population: plain integer, no separator
    assert any("données de démonstration" in c for c in comments)
    assert any("version des données" in c and headers["X-Data-Version"] in c for c in comments)


async def test_csv_export_reimports_as_the_same_selection(http, report_url):
    _, data, _ = await post_json(http, f"{report_url}/v1/export.csv", {"communes": MULTI})
    status, sel = await import_file(http, report_url, data)
    assert status == 200, sel
    assert sel["format"] == "csv"
    assert sorted(sel["communes"]) == sorted(MULTI)
    assert sel["issues"] == [] and sel["renamed"] == []
    assert sel["outdated"] is False


async def test_csv_export_refuses_bad_selection(http, report_url):
    status, data, _ = await post_json(http, f"{report_url}/v1/export.csv", {"communes": ["ABCDE"]})
    assert status == 400 and msgspec.json.decode(data)["code"] == "invalid_commune_code"


# Project files ------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["CPTS des Baronnies", '#read("/etc/passwd") ]#eval("1+1")[', "مشروع مركز صحي", None]
)
async def test_project_round_trip(http, report_url, name):
    data = await save(http, report_url, communes=MULTI, name=name, date="2025-01-31")
    text = data.decode()
    assert text.startswith("REZONE-CPTS-PROJET 1\n")
    assert "cree_le: 2025-01-31\n" in text and "communes: 6\n" in text
    assert "04181 Saint-Jeannet\n" in text
    status, sel = await import_file(http, report_url, data)
    assert status == 200, sel
    assert sel["communes"] == MULTI  # same codes, same order
    assert sel["name"] == name
    assert sel["created_on"] == "2025-01-31"
    assert sel["issues"] == [] and sel["renamed"] == [] and sel["outdated"] is False
    assert sel["data_version"] == sel["current_data_version"]


async def test_project_name_newlines_fold_into_one_line(http, report_url):
    data = await save(http, report_url, communes=SMALL, name="ligne 1\ncommunes: 99\r\n13001 Aix")
    status, sel = await import_file(http, report_url, data)
    assert status == 200, sel
    assert sel["name"] == "ligne 1 communes: 99 13001 Aix"
    assert sel["communes"] == SMALL


async def test_project_tolerates_bom_crlf_comments_and_lowercase(http, report_url):
    data = await save(http, report_url, communes=["2A004", "13041"])
    edited = b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n").replace(b"2A004", b"2a004") + b"# fin\r\n"
    status, sel = await import_file(http, report_url, edited)
    assert status == 200, sel
    assert sel["communes"] == ["2A004", "13041"]


async def test_import_reports_unknown_outdated_and_renamed_codes(http, report_url):
    text = (
        "REZONE-CPTS-PROJET 1\nnom: Ancien projet\ncree_le: 2019-05-02\nversion_donnees: 0123456789ab\n"
        "communes: 5\n13041 Gardane\n13999 Commune disparue\n75056 Paris\n13060 Meyreuil\n13060 Meyreuil\n"
    )
    status, sel = await import_file(http, report_url, text.encode())
    assert status == 200, sel
    assert sel["communes"] == ["13041", "13060"]
    assert sel["outdated"] is True
    issues = {i["code"]: i for i in sel["issues"]}
    assert issues["13999"]["reason"] == "unknown" and issues["13999"]["nom"] == "Commune disparue"
    assert "Commune disparue (13999)" in issues["13999"]["message"]
    assert issues["75056"]["reason"] == "not_selectable" and len(issues["75056"]["replaced_by"]) == 20
    assert issues["13060"]["reason"] == "duplicate"
    assert sel["renamed"] == [{"code": "13041", "nom_fichier": "Gardane", "nom": "Gardanne"}]


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)


@pytest.mark.parametrize(
    ("data", "status", "code", "needle"),
    [
        (b"", 400, "invalid_project_file", "vide"),
        (PNG, 400, "invalid_project_file", "UTF-8"),
        (
            b"Bonjour,\nvoici mes communes : Gardanne, Meyreuil\n",
            400,
            "invalid_project_file",
            "première ligne",
        ),
        (
            b"REZONE-CPTS-PROJET 2\ncommunes: 1\n13041 Gardanne\n",
            422,
            "unsupported_project_version",
            "version 2",
        ),
        (
            b"REZONE-CPTS-PROJET 1\nnom: x\ncommunes: 3\n13041 Gardanne\n13060 Meyreuil\n",
            400,
            "invalid_project_file",
            "annonce 3",
        ),
        (
            b"REZONE-CPTS-PROJET 1\ncommunes: 2\n13041 Gardanne\nGARDANNE 13041\n",
            400,
            "invalid_project_file",
            "ligne 4",
        ),
        (b"REZONE-CPTS-PROJET 1\nnom: x\n13041 Gardanne\n", 400, "invalid_project_file", "ligne 3"),
        (b"REZONE-CPTS-PROJET 1\nnom: x\n", 400, "invalid_project_file", "communes:"),
        (b"REZONE-CPTS-PROJET 1\ncommunes: 0\n", 400, "invalid_project_file", "aucune commune"),
        (
            b"REZONE-CPTS-PROJET 1\ncommunes: 101\n" + b"".join(b"13%03d X\n" % i for i in range(1, 102)),
            422,
            "too_many_communes",
            "101",
        ),
        (b"REZONE-CPTS-PROJET 1\nnom: " + b"a" * 70_000 + b"\n", 413, "project_file_too_large", "octets"),
    ],
)
async def test_bad_project_files_are_refused_precisely(http, report_url, data, status, code, needle):
    got, problem = await import_file(http, report_url, data)
    assert got == status, problem
    assert problem["code"] == code
    assert needle in problem["detail"], problem["detail"]


async def test_save_refuses_codes_that_are_not_selectable(http, report_url):
    status, data, _ = await post_json(
        http, f"{report_url}/v1/project", {"communes": ["13041", "75056", "13999"]}
    )
    assert status == 422
    problem = msgspec.json.decode(data)
    assert problem["code"] == "unknown_commune"
    assert problem["offenders"] == ["75056", "13999"]
