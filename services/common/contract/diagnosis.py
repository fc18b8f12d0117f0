"""The aggregate service's answers: the whole diagnosis and the header-bar summary."""

from __future__ import annotations

import msgspec

from services.common.contract.aci import Aci
from services.common.contract.figures import Alert, Indicator, SecrecyRule, Source
from services.common.contract.offer import Offer
from services.common.contract.population import PopulationSection, Prevalences
from services.common.contract.territory import Commune, Territory


class Diagnosis(msgspec.Struct, kw_only=True):
    """`POST /v1/diagnosis`: the whole territorial diagnosis, masked."""

    data_version: str
    demo: bool  # at least one source is demonstration data: say "données de démonstration"
    sources: list[Source]
    secrecy_rules: list[SecrecyRule]
    territory: Territory
    communes: list[Commune]
    alerts: list[Alert]
    population: PopulationSection
    access: list[Indicator]
    prevalences: Prevalences
    prevention: list[Indicator]
    vaccination: list[Indicator]
    offer: Offer
    aci: Aci


class FamilyCount(msgspec.Struct, kw_only=True):
    """Professionals of one family of the summary bar."""

    key: str
    label: str
    n: int


class Summary(msgspec.Struct, kw_only=True):
    """`POST /v1/summary`: the header-bar figures, cheap enough for every selection change."""

    data_version: str
    demo: bool
    commune_count: int
    population: int
    population_partial: bool
    professionals: int
    families: list[FamilyCount]
    structures: int
