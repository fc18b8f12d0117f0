"""Bad input gets problem+json with a stable code and the offenders, never a 500."""

from __future__ import annotations

import pytest

from .helpers import post


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/v1/diagnosis", {"communes": ["x1234", "04028"]}, 400, "invalid_commune_code"),
        ("/v1/diagnosis", {"communes": ["2A0041"]}, 400, "invalid_commune_code"),
        ("/v1/diagnosis", {"communes": ["20004"]}, 400, "invalid_commune_code"),  # Corsica is 2A/2B
        ("/v1/diagnosis", {"communes": ["01999"]}, 422, "unknown_commune"),  # well-formed, no such commune
        ("/v1/summary", {"communes": ["2C001"]}, 400, "invalid_commune_code"),
        ("/v1/diagnosis", {"communes": []}, 400, "empty_selection"),
        ("/v1/summary", {"communes": []}, 400, "empty_selection"),
        ("/v1/diagnosis", {"communes": ["99999", "04028"]}, 400, "invalid_commune_code"),  # no département 99
        ("/v1/diagnosis", {"communes": ["75056"]}, 422, "unknown_commune"),  # Paris: by arrondissement only
        ("/v1/diagnosis", {"communes": ["04028"], "ald": ["ald_12"]}, 422, "unknown_indicator"),
        ("/v1/diagnosis", {"communes": ["04028"], "ald": ["pop_ald"]}, 422, "unknown_indicator"),
        ("/v1/diagnosis", {"communes": ["04028"], "extra": 1}, 400, "bad_request"),
        ("/v1/diagnosis", {"communes": "04028"}, 400, "bad_request"),
        ("/v1/summary", {}, 400, "bad_request"),
    ],
)
def test_problem_codes(agg_url: str, path: str, body: dict, status: int, code: str) -> None:
    got, doc, headers = post(agg_url, path, body)
    assert got == status
    assert headers["Content-Type"].startswith("application/problem+json")
    assert doc["code"] == code and doc["status"] == status and doc["detail"]


def test_offenders_are_listed(agg_url: str) -> None:
    _, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": ["99998", "04028", "99999"]})
    assert doc["offenders"] == ["99998", "99999"]
    _, doc, _ = post(agg_url, "/v1/diagnosis", {"communes": ["abc", "04028", "1"]})
    assert doc["offenders"] == ["abc", "1"]


def test_malformed_json(agg_url: str) -> None:
    status, doc, _ = post(agg_url, "/v1/diagnosis", None, raw=b'{"communes": [')
    assert status == 400 and doc["code"] == "bad_request"


def test_too_many_communes(agg_url: str, database_url: str) -> None:
    from .helpers import sql

    codes = [
        r["commune_code"]
        for r in sql(
            database_url,
            "SELECT commune_code FROM stats.commune_profile "
            "WHERE departement_code = '01' ORDER BY 1 LIMIT 101",
        )
    ]
    status, doc, _ = post(agg_url, "/v1/summary", {"communes": codes})
    assert status == 422 and doc["code"] == "too_many_communes" and doc["limit"] == 100
    # Duplicates and case are normalised before counting: 150 items reducing to 100 distinct codes pass.
    padded = codes[:100] + codes[:50]
    status, doc, _ = post(agg_url, "/v1/summary", {"communes": padded})
    assert status == 200 and doc["commune_count"] == 100


def test_codes_are_normalised(agg_url: str) -> None:
    status, doc, _ = post(agg_url, "/v1/summary", {"communes": [" 2a004", "2A004"]})
    assert status == 200 and doc["commune_count"] == 1
