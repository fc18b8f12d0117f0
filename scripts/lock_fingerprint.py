"""Fingerprint of pyproject.toml's dependency lists, written into requirements/*.lock by scripts/lock.sh.

    python scripts/lock_fingerprint.py EXTRA...     prints the fingerprint of the base deps + these extras
    python scripts/lock_fingerprint.py --list-extras

Only what the resolver reads counts (requires-python, dependencies, the named extras), sorted, so that a
reformatted pyproject.toml keeps its lock and any added, removed or re-ranged requirement does not.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def fingerprint(extras: list[str], pyproject: Path = PYPROJECT) -> str:
    """sha256 (first 16 hex digits) of the normalised dependency lists."""
    project = tomllib.loads(pyproject.read_text())["project"]
    optional = project.get("optional-dependencies", {})
    data = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": sorted(" ".join(d.split()) for d in project.get("dependencies", [])),
        "extras": {e: sorted(" ".join(d.split()) for d in optional[e]) for e in sorted(extras)},
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def all_extras(pyproject: Path = PYPROJECT) -> list[str]:
    """Every optional-dependency group, sorted."""
    return sorted(tomllib.loads(pyproject.read_text())["project"].get("optional-dependencies", {}))


def main() -> int:
    """Entry point."""
    if sys.argv[1:] == ["--list-extras"]:
        print("\n".join(all_extras()))
        return 0
    print(fingerprint(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
