"""Rendered overlays, once per session. These checks need no database and no cluster."""

from __future__ import annotations

import pytest
from deploy_checks import OVERLAYS, render

_RENDERS: dict[str, list[dict]] = {}


@pytest.fixture(scope="session", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    """Each overlay name in turn."""
    return request.param


@pytest.fixture(scope="session")
def objs(overlay: str) -> list[dict]:
    """The rendered objects of the overlay."""
    if overlay not in _RENDERS:
        _RENDERS[overlay] = render(overlay)
    return _RENDERS[overlay]
