"""Property tests over random selections: no masked value is ever a number, and rule 6 holds.

Rule 6: a neutralised commune contributes nothing anywhere, so {A} and {A, B} publish identical values for an
indicator for which B is neutralised, whatever A is. Otherwise the difference would reveal B's small count.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import indicator_index, masked_violations, post, sql

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def pool(database_url: str) -> list[str]:
    """Communes of three rural and urban départements, small ones included (secrecy triggers often)."""
    rows = sql(
        database_url,
        """SELECT commune_code FROM stats.commune_profile
                                WHERE departement_code IN ('04', '05', '13') ORDER BY commune_code""",
    )
    return [r["commune_code"] for r in rows]


@pytest.fixture(scope="module")
def neutralised_pairs(database_url: str, pool: list[str]) -> list[tuple[str, str]]:
    """(commune, indicator) cells that the per-commune rules neutralise (V0100 kept flags), in the pool."""
    rows = sql(
        database_url,
        """
        SELECT p.commune_code, i.id
        FROM stats.commune_profile p CROSS JOIN ref.indicators i
        LEFT JOIN stats.commune_indicators_kept c ON c.commune_code = p.commune_code AND c.indicator_id = i.id
        WHERE p.commune_code = ANY($1) AND c.kept IS NOT TRUE
        ORDER BY 1, 2""",
        pool,
    )
    return [(r["commune_code"], r["id"]) for r in rows]


def test_no_masked_value_is_a_number(agg_url: str, pool: list[str]) -> None:
    @SETTINGS
    @given(
        st.lists(st.sampled_from(pool), min_size=1, max_size=30, unique=True),
        st.lists(st.integers(1, 30).filter(lambda n: n != 12), max_size=3),
    )
    def check(codes: list[str], ald: list[int]) -> None:
        status, doc, _ = post(
            agg_url, "/v1/diagnosis", {"communes": codes, "ald": [f"ald_{n:02d}" for n in ald]}
        )
        assert status == 200
        assert masked_violations(doc) == []
        for item in indicator_index(doc).values():
            assert (item["value"] is None) == (item["status"] != "publie")
            assert item["masked"] == (item["status"] == "secret")
            assert item["value"] != 0 or not item["masked"]

    check()


def test_rule6_neutralised_commune_changes_nothing(
    agg_url: str, pool: list[str], neutralised_pairs: list[tuple[str, str]]
) -> None:
    @SETTINGS
    @given(
        st.lists(st.sampled_from(pool), min_size=1, max_size=20, unique=True),
        st.sampled_from(neutralised_pairs),
    )
    def check(base: list[str], pair: tuple[str, str]) -> None:
        extra, indicator = pair
        if extra in base:
            base = [c for c in base if c != extra] or [next(c for c in pool if c != extra)]
        ald = [indicator] if indicator.startswith("ald_") else []
        _, without, _ = post(agg_url, "/v1/diagnosis", {"communes": base, "ald": ald})
        _, with_b, _ = post(agg_url, "/v1/diagnosis", {"communes": base + [extra], "ald": ald})
        a, b = indicator_index(without)[indicator], indicator_index(with_b)[indicator]
        assert (a["value"], a["numerator"], a["denominator"], a["masked"]) == (
            b["value"],
            b["numerator"],
            b["denominator"],
            b["masked"],
        )
        assert extra in b["neutralised_communes"]

    check()
