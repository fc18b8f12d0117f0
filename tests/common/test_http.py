"""The shared HTTP rules (services/common/http.py) every service answers by."""

from __future__ import annotations

import pytest

from services.common.http import UpstreamProblem, accepts_gzip, etag_matches, problem_fields, strong_etag


@pytest.mark.parametrize(
    ("header", "gzip"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("gzip;q=0", False),  # the gateway used to read this as "gzip"
        ("gzip;q=0.0, identity", False),
        ("*", True),
        ("*;q=0", False),
        ("identity", False),
        ("", False),
        ("x-gzip", True),
        ("gzip;q=abc", False),
    ],
)
def test_gzip_acceptance(header: str, gzip: bool) -> None:
    assert accepts_gzip(header) is gzip


def test_etag_matching_is_weak_and_lists() -> None:
    tag = strong_etag(b"body")
    assert tag == strong_etag(b"body") != strong_etag(b"other") and tag.startswith('"')
    assert etag_matches(tag, tag) and etag_matches(f'"x", W/{tag}', tag) and etag_matches("*", tag)
    assert not etag_matches(None, tag) and not etag_matches('"x"', tag)


def test_upstream_problem_keeps_code_status_and_members() -> None:
    body = problem_fields(b'{"code": "too_many_communes", "title": "Trop", "detail": "101", "limit": 100}')
    error = UpstreamProblem(422, body)
    assert (error.status, error.code, error.detail, error.extra) == (
        422,
        "too_many_communes",
        "101",
        {"limit": 100},
    )
    assert problem_fields(b"<html>") == {} and UpstreamProblem(400, {}).code == "upstream_rejected"
