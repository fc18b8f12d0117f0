"""hadolint and checkov, for real, on every image recipe and on the rendered overlays.

Each accepted finding is waived where the code is, with its reason: `# hadolint ignore=…` and
`# checkov:skip=…` comments in the recipes, `checkov.io/skipN` annotations on the workloads. These tests fail
on any new finding, and on a waiver that gives no reason.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_checks import DEPLOY, OVERLAYS, kubectl, render

RECIPES = [DEPLOY / "Dockerfile", *sorted((DEPLOY / "images").glob("*.Containerfile"))]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    if not found:
        raise AssertionError(f"{name} not installed: the test extra of pyproject.toml installs it")
    return str(found)


@pytest.fixture(scope="module")
def checkov(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """One checkov run (its start-up is most of its time) over every recipe and rendered overlay.

    Results by file: `<recipe name>/Dockerfile` (checkov recognises a Dockerfile by its name only) and
    `<overlay>.yaml`.
    """
    work = tmp_path_factory.mktemp("checkov")
    for recipe in RECIPES:
        (work / recipe.name).mkdir()
        shutil.copy(recipe, work / recipe.name / "Dockerfile")
    for overlay in OVERLAYS:
        rendered = subprocess.run(
            [kubectl(), "kustomize", str(DEPLOY / "overlays" / overlay)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        (work / f"{overlay}.yaml").write_text(rendered)
    # --skip-download: no call home (guidelines, policies); the built-in checks are all we use.
    out = subprocess.run(
        [
            _tool("checkov"),
            "-d",
            str(work),
            "--framework",
            "dockerfile",
            "kubernetes",
            "--skip-download",
            "--compact",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={"BC_SKIP_MAPPING": "TRUE", "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(work)},
    )
    reports = json.loads(out.stdout)
    by_file: dict[str, dict] = {}
    for report in reports if isinstance(reports, list) else [reports]:
        assert report["summary"]["parsing_errors"] == 0, out.stderr[-2000:]
        for key in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in report["results"].get(key, []):
                entry = by_file.setdefault(check["file_path"].lstrip("/"), {})
                entry.setdefault(key, []).append(check)
    return by_file


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_hadolint_clean(recipe: Path) -> None:
    res = subprocess.run(
        [_tool("hadolint"), "--no-color", "--failure-threshold", "info", str(recipe)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_every_waiver_in_a_recipe_says_why(recipe: Path) -> None:
    lines = recipe.read_text().splitlines()
    for i, line in enumerate(lines):
        if m := re.match(r"# hadolint ignore=([\w,]+)", line):
            for rule in m.group(1).split(","):
                reason = " ".join(lines[max(0, i - 4) : i])
                assert f"{rule} (" in reason and "waived" in reason, (
                    f"{recipe.name}:{i + 1}: {rule} unexplained"
                )
        if m := re.match(r"# checkov:skip=(\w+)(:?)(.*)", line):
            assert m.group(2) and len(m.group(3).strip()) > 20, (
                f"{recipe.name}:{i + 1}: {m.group(1)} unexplained"
            )


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_checkov_clean_on_recipes(recipe: Path, checkov: dict[str, dict]) -> None:
    result = checkov[f"{recipe.name}/Dockerfile"]
    assert len(result.get("passed_checks", [])) > 20, "checkov ran no real checks"
    failed = [(c["check_id"], c["check_name"]) for c in result.get("failed_checks", [])]
    assert not failed, f"{recipe.name}: {failed}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_checkov_clean_on_rendered_overlays(overlay: str, checkov: dict[str, dict]) -> None:
    result = checkov[f"{overlay}.yaml"]
    assert len(result.get("passed_checks", [])) > 500, "checkov ran no real checks"
    failed = [(c["check_id"], c["resource"]) for c in result.get("failed_checks", [])]
    assert not failed, failed
    waivers = {}
    for obj in render(overlay):
        for key, value in (obj["metadata"].get("annotations") or {}).items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                assert len(reason.strip()) > 40, f"{obj['kind']}/{obj['metadata']['name']}: {check} no reason"
                waivers.setdefault(check, set()).add(f"{obj['kind']}.{obj['metadata']['name']}")
    for skipped in result.get("skipped_checks", []):
        kind_name = skipped["resource"].split(".", 1)[0] + "." + skipped["resource"].rsplit(".", 1)[-1]
        assert kind_name in waivers.get(skipped["check_id"], set()), (
            f"{skipped['check_id']} skipped unexplained"
        )
