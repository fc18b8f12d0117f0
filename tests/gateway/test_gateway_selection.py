"""Selection validation and normalisation, before any upstream call (real gateway process, real PostGIS)."""

from __future__ import annotations

import gzip

import msgspec
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _json(r) -> dict:
    """The answer's JSON (the session does not decompress: a diagnosis comes gzipped)."""
    raw = await r.read()
    return msgspec.json.decode(gzip.decompress(raw) if r.headers.get("Content-Encoding") == "gzip" else raw)


async def _post(http, url, body) -> tuple[int, dict, dict]:
    async with http.post(
        url, data=msgspec.json.encode(body), headers={"Content-Type": "application/json"}
    ) as r:
        return r.status, r.headers.copy(), await _json(r)


async def test_normalised_before_upstream(http, gateway, doubles, selectable):
    a, b = selectable[100], selectable[101]
    status, headers, body = await _post(
        http, f"{gateway}/api/v1/territory", {"communes": [f"  {b.lower()} ", a, b, a.lower()]}
    )
    assert status == 200, body
    # What the upstream received (trimmed, upper-cased, unique, sorted) and the contract's answer for it.
    assert [c["code"] for c in body["communes"]] == [a, b]
    assert doubles.aggregate.bodies[-1] == ("diagnosis", {"communes": [a, b], "ald": []})


async def test_corsican_code_upper_cased(http, gateway, doubles):
    async with http.get(f"{gateway}/api/v1/territory/summary?communes=2a004,%202B033") as r:
        assert r.status == 200 and (await _json(r))["commune_count"] == 2
    assert doubles.aggregate.bodies[-1] == ("summary", {"communes": ["2A004", "2B033"]})


@pytest.mark.parametrize("bad", ["20004", "2C001", "96001", "97701", "1001", "ABCDE", "010011", "", "0100٠"])
async def test_malformed_code(http, gateway, doubles, bad):
    before = sum(doubles.aggregate.calls.values())
    status, headers, body = await _post(http, f"{gateway}/api/v1/territory", {"communes": ["01001", bad]})
    assert status == 400
    assert headers["Content-Type"].startswith("application/problem+json")
    assert body["code"] == "invalid_commune_code"
    assert body["offenders"] == [bad]
    assert sum(doubles.aggregate.calls.values()) == before


async def test_unknown_code(http, gateway, doubles):
    before = sum(doubles.aggregate.calls.values())
    async with http.get(f"{gateway}/api/v1/territory?communes=01001,01999,95999") as r:
        body = msgspec.json.decode(await r.read())
    assert r.status == 422 and body["code"] == "unknown_commune"
    assert body["unknown"] == ["01999", "95999"]
    assert sum(doubles.aggregate.calls.values()) == before


@pytest.mark.parametrize("query", ["communes=", "communes=,,", ""])
async def test_empty_selection_query(http, gateway, query):
    async with http.get(f"{gateway}/api/v1/territory?{query}") as r:
        body = msgspec.json.decode(await r.read())
    assert r.status == 400 and body["code"] == "empty_selection"


async def test_empty_selection_body(http, gateway):
    status, _, body = await _post(http, f"{gateway}/api/v1/territory", {"communes": []})
    assert status == 400 and body["code"] == "empty_selection"


async def test_limit_boundaries(http, gateway, doubles, selectable):
    hundred = selectable[1000:1100]
    status, _, body = await _post(http, f"{gateway}/api/v1/territory/summary", {"communes": hundred})
    assert status == 200 and body["commune_count"] == 100
    assert doubles.aggregate.bodies[-1] == ("summary", {"communes": sorted(hundred)})

    before = sum(doubles.aggregate.calls.values())
    status, _, body = await _post(
        http, f"{gateway}/api/v1/territory/summary", {"communes": selectable[1000:1101]}
    )
    assert status == 422
    assert body["code"] == "too_many_communes" and body["limit"] == 100 and body["count"] == 101
    assert sum(doubles.aggregate.calls.values()) == before


async def test_padded_150_reducing_to_100_is_accepted(http, gateway, doubles, selectable):
    hundred = selectable[2000:2100]
    padded = hundred + [c.lower() for c in hundred[:30]] + [f" {c} " for c in hundred[30:50]]
    assert len(padded) == 150
    status, _, body = await _post(http, f"{gateway}/api/v1/territory/summary", {"communes": padded})
    assert status == 200 and body["commune_count"] == 100
    assert doubles.aggregate.bodies[-1] == ("summary", {"communes": sorted(hundred)})


async def test_get_form_accepts_repeated_and_comma_separated(http, gateway, doubles, selectable):
    a, b, c = selectable[3000:3003]
    async with http.get(f"{gateway}/api/v1/territory/summary?communes={c},{a}&communes={b}") as r:
        assert r.status == 200
        assert (await _json(r))["commune_count"] == 3
    assert doubles.aggregate.bodies[-1] == ("summary", {"communes": [a, b, c]})


async def test_body_over_16k_is_413(http, gateway):
    body = b'{"communes": ["01001"' + b', "01001"' * 2100 + b"]}"
    assert len(body) > 16 * 1024
    async with http.post(
        f"{gateway}/api/v1/territory", data=body, headers={"Content-Type": "application/json"}
    ) as r:
        problem = msgspec.json.decode(await r.read())
    assert r.status == 413 and problem["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/territory?communes=01001&foo=1",
        "/api/v1/territory/summary?communes=01001&ald=x",
        "/api/v1/communes?q=paris&sort=pop",
        "/api/v1/export.csv?communes=01001&name=x",
    ],
)
async def test_unknown_parameter(http, gateway, url):
    async with http.get(gateway + url) as r:
        body = msgspec.json.decode(await r.read())
    assert r.status == 400 and body["code"] == "unknown_parameter"


async def test_unknown_parameter_on_post(http, gateway):
    status, _, body = await _post(http, f"{gateway}/api/v1/territory?debug=1", {"communes": ["01001"]})
    assert status == 400 and body["code"] == "unknown_parameter"


@pytest.mark.parametrize(
    "body", [{"communes": ["01001"], "extra": 1}, {"communes": "01001"}, {"communes": [1]}, {}, [], "x"]
)
async def test_malformed_body(http, gateway, body):
    status, _, problem = await _post(http, f"{gateway}/api/v1/territory", body)
    assert status == 400 and problem["code"] in ("invalid_parameter", "invalid_commune_code")


async def test_invalid_json(http, gateway):
    async with http.post(
        f"{gateway}/api/v1/territory", data=b"{not json", headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 400
        assert msgspec.json.decode(await r.read())["code"] == "invalid_parameter"


async def test_plm_parent_refused_with_its_arrondissements(http, gateway, doubles):
    before = sum(doubles.aggregate.calls.values())
    status, _, body = await _post(http, f"{gateway}/api/v1/territory", {"communes": ["69123", "01001"]})
    assert status == 422 and body["code"] == "plm_parent"
    assert body["parents"] == ["69123"]
    assert body["arrondissements"]["69123"] == [f"6938{i}" for i in range(1, 10)]
    assert sum(doubles.aggregate.calls.values()) == before
    # the hint is directly usable: the arrondissements are accepted
    status, _, body = await _post(
        http, f"{gateway}/api/v1/territory", {"communes": body["arrondissements"]["69123"]}
    )
    assert status == 200


async def test_ald_normalised_and_checked(http, gateway, doubles, selectable):
    a = selectable[4000]
    async with http.get(f"{gateway}/api/v1/territory?communes={a}&ald=ALD_08,ald_05,ald_08") as r:
        assert r.status == 200
    assert doubles.aggregate.bodies[-1] == ("diagnosis", {"communes": [a], "ald": ["ald_05", "ald_08"]})
    async with http.get(f"{gateway}/api/v1/territory?communes={a}&ald=ald_12") as r:
        body = msgspec.json.decode(await r.read())
    assert r.status == 422 and body["code"] == "unknown_indicator"  # n° 12 left the ALD list in 2011


async def test_project_name_limit(http, gateway, doubles, selectable):
    url = f"{gateway}/api/v1/report.pdf"
    async with http.post(url, json={"communes": [selectable[7000]], "name": "é" * 120}) as r:
        assert r.status == 200  # the limit itself is accepted, counted in characters
    assert doubles.report.bodies[-1][1]["name"] == "é" * 120
    status, _, body = await _post(http, url, {"communes": ["01001"], "name": "x" * 121})
    assert status == 400 and body["code"] == "invalid_name" and body["limit"] == 120


async def test_report_takes_targeted_ald_validated_as_the_diagnosis(http, gateway, doubles, selectable):
    a = selectable[4001]
    # POST and GET: normalised (trimmed, lower-cased, unique, sorted) and passed to the report service
    async with http.post(
        f"{gateway}/api/v1/report.pdf", json={"communes": [a], "ald": ["ALD_08", " ald_05", "ald_08"]}
    ) as r:
        assert r.status == 200 and (await r.read()).startswith(b"%PDF")
    what, body = doubles.report.bodies[-1]
    assert what == "report.pdf" and body["ald"] == ["ald_05", "ald_08"] and body["communes"] == [a]
    async with http.get(f"{gateway}/api/v1/report.pdf?communes={a}&ald=ald_08") as r:
        assert r.status == 200
    assert doubles.report.bodies[-1][1]["ald"] == ["ald_08"]
    # another ALD set is another report: not served from the first one's cache entry
    async with http.get(f"{gateway}/api/v1/report.pdf?communes={a}&ald=ald_05") as r:
        assert r.status == 200
    assert doubles.report.bodies[-1][1]["ald"] == ["ald_05"]
    # refused as on the diagnosis: unknown id, malformed id; and only the PDF takes `ald`
    before = sum(doubles.report.calls.values())
    status, _, problem = await _post(
        http, f"{gateway}/api/v1/report.pdf", {"communes": [a], "ald": ["ald_12"]}
    )
    assert status == 422 and problem["code"] == "unknown_indicator"
    async with http.get(f"{gateway}/api/v1/report.pdf?communes={a}&ald=ald-08;") as r:
        assert (r.status, (await _json(r))["code"]) == (400, "invalid_parameter")
    async with http.get(f"{gateway}/api/v1/export.csv?communes={a}&ald=ald_08") as r:
        assert r.status == 400 and msgspec.json.decode(await r.read())["code"] == "unknown_parameter"
    status, _, problem = await _post(http, f"{gateway}/api/v1/project", {"communes": [a], "ald": ["ald_08"]})
    assert (status, problem["code"]) == (400, "invalid_parameter")
    assert sum(doubles.report.calls.values()) == before
