"""The bodies the test doubles serve (tests/fixtures) are what the real aggregate service answers today."""

from __future__ import annotations

import json
import os

from tests.fixtures import (
    DIAGNOSIS_FILE,
    RECORDED_REQUEST,
    SUMMARY_FILE,
    recorded_diagnosis,
    recorded_summary,
)

from .helpers import post


def test_recorded_bodies_are_the_services(agg_url: str) -> None:
    for path, target in (("/v1/diagnosis", DIAGNOSIS_FILE), ("/v1/summary", SUMMARY_FILE)):
        body = RECORDED_REQUEST if path.endswith("diagnosis") else {"communes": RECORDED_REQUEST["communes"]}
        status, doc, _ = post(agg_url, path, body)
        assert status == 200, doc
        if os.environ.get("REZONE_RECORD") == "1":
            target.write_text(json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
        assert json.loads(target.read_text()) == doc, f"{target.name}: re-record with REZONE_RECORD=1"
    assert [c.code for c in recorded_diagnosis().communes] == RECORDED_REQUEST["communes"]
    assert recorded_summary().commune_count == 2
