"""The rules every service shares (services/common/validation.py), and the web app's copy of the code form."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from services.common.validation import (
    CODE_FORM,
    MAX_NAME_LENGTH,
    InvalidName,
    is_code_start,
    project_name,
)

ROOT = Path(__file__).resolve().parents[2]
# Every 5-character string over digits and A/B, plus the edge cases of case and length.
CANDIDATES = [
    *map("".join, itertools.product("0123456789AB", repeat=5)),
    *("2a004", "2b033", "0100", "010011", "", "2C001", " 01001"),
]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by scripts/bootstrap.sh")
def test_web_code_form_is_the_services_one():
    """web/js/state.js `isCommuneCode` accepts exactly what CODE_FORM accepts (upper-cased input)."""
    script = (
        "import { isCommuneCode } from './web/js/state.js';"
        "let data = ''; process.stdin.on('data', (c) => (data += c));"
        "process.stdin.on('end', () => {"
        "  const codes = JSON.parse(data);"
        "  process.stdout.write(JSON.stringify(codes.filter((c) => isCommuneCode(c))));"
        "});"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        input=json.dumps(CANDIDATES),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    accepted_js = set(json.loads(out.stdout))
    accepted_py = {c for c in CANDIDATES if CODE_FORM.fullmatch(c)}
    assert accepted_js == accepted_py
    assert len(accepted_py) == 96 * 1000 + 6 * 100  # 01–95 without 20, 2A and 2B; then 971–976


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("2", True),
        ("2A", True),
        ("2A0", True),
        ("2A004", True),
        ("20", False),
        ("96", False),
        ("971", True),
        ("977", False),
        ("9710", True),
        ("97A", False),
        ("ABC", False),
        ("930660", False),
        ("", False),
    ],
)
def test_code_start_derives_from_the_form(text, start):
    assert is_code_start(text) is start
    # Derived, not written again: a start is exactly what some valid code begins with.
    some_code = any(
        CODE_FORM.fullmatch(text + "".join(t))
        for t in itertools.product("0123456789", repeat=max(0, 5 - len(text)))
    )
    assert start is (bool(text) and some_code and len(text) <= 5)


def test_project_name_rule():
    assert project_name(None) is None and project_name("   ") is None
    assert project_name("  CPTS\r\ndes\tBaronnies \u2028 ") == "CPTS des Baronnies"
    assert project_name("#eval(1)") == "#eval(1)"  # data for Typst, never markup
    assert project_name("é" * MAX_NAME_LENGTH) == "é" * MAX_NAME_LENGTH
    with pytest.raises(InvalidName) as too_long:
        project_name("x" * (MAX_NAME_LENGTH + 1))
    assert too_long.value.code == "invalid_name" and too_long.value.extra["limit"] == MAX_NAME_LENGTH
    with pytest.raises(InvalidName):
        project_name("a\x00b")
