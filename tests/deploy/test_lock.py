"""The hashed locks agree with pyproject.toml (`make lock` makes them; the image and `make test` use them)."""

from __future__ import annotations

import re
import sys
import tomllib

import pytest
from deploy_checks import ROOT
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

sys.path.insert(0, str(ROOT / "scripts"))
from lock_fingerprint import all_extras, fingerprint  # noqa: E402

LOCKS = {"runtime": ["gateway", "report", "tiles"], "dev": None}


def _lock(name: str) -> str:
    return (ROOT / "requirements" / f"{name}.lock").read_text()


def _pins(text: str) -> dict[str, list[tuple[Version, str]]]:
    """name -> [(version, marker)] (a universal lock may pin one name twice under exclusive markers)."""
    pins: dict[str, list[tuple[Version, str]]] = {}
    for m in re.finditer(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\\n]+?))?\s*\\?$", text, re.M):
        pins.setdefault(canonicalize_name(m.group(1)), []).append((Version(m.group(2)), m.group(3) or ""))
    return pins


def _extras(name: str) -> list[str]:
    return LOCKS[name] or all_extras()


@pytest.mark.parametrize("name", LOCKS)
def test_lock_was_made_from_this_pyproject(name: str) -> None:
    first = _lock(name).splitlines()[0]
    recorded = re.match(r"# fingerprint: ([0-9a-f]{16})", first)
    assert recorded, f"requirements/{name}.lock has no fingerprint line: run `make lock`"
    assert recorded.group(1) == fingerprint(_extras(name)), (
        f"pyproject.toml's dependencies changed since requirements/{name}.lock was made: run `make lock`"
    )


@pytest.mark.parametrize("name", LOCKS)
def test_every_requirement_is_pinned_within_its_range_with_hashes(name: str) -> None:
    text = _lock(name)
    pins = _pins(text)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in _extras(name):
        wanted += project["optional-dependencies"][extra]
    for spec in wanted:
        req = Requirement(spec)
        assert canonicalize_name(req.name) in pins, f"{req.name} missing from requirements/{name}.lock"
        for version, marker in pins[canonicalize_name(req.name)]:
            assert req.specifier.contains(version, prereleases=True), f"{req.name}=={version} outside {spec}"
            assert not marker or Marker(marker)  # parses
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    for entry in entries:
        if entry.strip():
            assert "--hash=sha256:" in entry, f"unhashed entry in requirements/{name}.lock: {entry[:60]}"


def test_dev_lock_agrees_with_the_runtime_lock() -> None:
    """The image and the test suite run the same versions of every runtime dependency."""
    runtime, dev = _pins(_lock("runtime")), _pins(_lock("dev"))
    for pkg, versions in runtime.items():
        # Markers may differ (the dev lock has more dependents); the versions may not.
        assert {v for v, _ in dev.get(pkg, [])} == {v for v, _ in versions}, (
            f"{pkg}: {versions} vs {dev.get(pkg)}"
        )
