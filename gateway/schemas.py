"""Public request and response Structs of the gateway's own routes (the OpenAPI components come from here).

Diagnosis and summary bodies belong to the aggregate service (`services/common/contract/`); the gateway
relays them as opaque bytes and only references their schema in the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from services.common.contract import Source
from services.common.validation import CODE_PATTERN as CODE_PATTERN
from services.common.validation import MAX_COMMUNES, MAX_NAME_LENGTH

# CODE_PATTERN (services.common.validation) is only documented, not enforced by the decoder: the selection
# validator answers with `invalid_commune_code` and the offenders.
ALD_PATTERN = r"^\s*[A-Za-z0-9_]{1,32}\s*$"

CommuneCode = Annotated[
    str,
    msgspec.Meta(
        max_length=32,
        extra_json_schema={"pattern": CODE_PATTERN},
        description=(
            "Code INSEE de commune ou d'arrondissement municipal ; espaces autour et minuscules tolérés "
            "('2a004' devient '2A004')."
        ),
        examples=["93066", "2A004", "75101"],
    ),
]
AldId = Annotated[
    str,
    msgspec.Meta(
        max_length=32,
        extra_json_schema={"pattern": ALD_PATTERN},
        description="Identifiant d'indicateur ALD (ref.indicators).",
        examples=["ald_08"],
    ),
]
Codes = Annotated[
    list[CommuneCode],
    msgspec.Meta(
        extra_json_schema={"minItems": 1},
        description=f"Communes de la sélection : doublons tolérés, au plus {MAX_COMMUNES} codes distincts.",
    ),
]


class SelectionBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A selection of communes; duplicates and padding are tolerated, at most `max_communes` distinct."""

    communes: Codes


class DiagnosisBody(SelectionBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A selection plus the ALD prevalences to detail (default: the five most frequent)."""

    ald: list[AldId] | None = None


class ReportBody(SelectionBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A selection plus the project name printed on the report / saved in the project file."""

    # The limit is documented here and enforced by `project_name`, so that a long name gets `invalid_name`.
    name: (
        Annotated[
            str, msgspec.Meta(extra_json_schema={"maxLength": MAX_NAME_LENGTH, "pattern": "^[^\x00]*$"})
        ]
        | None
    ) = None


class ReportPdfBody(ReportBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A report: selection, project name and the ALD prevalences targeted (« cibler les prévalences »)."""

    ald: list[AldId] | None = None


class BatchBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST /api/v1/reports`: one or several reports (each the body of `POST /api/v1/report.pdf`), made in
    the background; at most `max_batch` of them (REZONE_GATEWAY_MAX_BATCH)."""

    reports: Annotated[list[ReportPdfBody], msgspec.Meta(extra_json_schema={"minItems": 1})]


class Departement(msgspec.Struct, frozen=True):
    """Code and name of a département."""

    code: str
    nom: str


class Cpts(msgspec.Struct, frozen=True):
    """An existing CPTS a commune already belongs to (non-blocking alert in the builder)."""

    id: int
    nom: str
    statut: str


class SearchMatch(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """How a hit matched when not by its own name or code: the name or code found, in French what it is."""

    type: Annotated[
        str,
        msgspec.Meta(
            description=(
                "nom_approche (une faute de frappe tolérée), commune_deleguee, commune_associee (nom d'une "
                "ancienne commune), code_postal, ancien_code (code d'une commune qui n'existe plus)"
            )
        ),
    ]
    texte: str
    code: str | None = None
    nom: str | None = None


class CommuneHit(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One search result; `label` tells homonyms apart ("Saint-Denis (93)") and says how it matched."""

    code: str
    nom: str
    nom_de: Annotated[str, msgspec.Meta(description="« de » + nom : « du Havre », « d'Ajaccio »")]
    label: str
    kind: str
    selectable: bool
    population: int | None
    departement: Departement
    parent_code: str | None = None
    arrondissements: list[str] | None = None
    cpts: Cpts | None = None
    match: SearchMatch | None = None


class SearchResult(msgspec.Struct, frozen=True):
    """Search answer: the query as received (trimmed) and the ranked communes."""

    query: str
    results: list[CommuneHit]


class Region(msgspec.Struct, frozen=True):
    """Code and name of a région."""

    code: str
    nom: str


class Epci(msgspec.Struct, frozen=True):
    """Code and name of an EPCI."""

    code: str
    nom: str


class CommuneDetail(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A commune or PLM arrondissement with where it sits; `bbox` is [W, S, E, N] in degrees."""

    code: str
    nom: str
    nom_de: str
    label: str
    kind: str
    selectable: bool
    population: int | None
    departement: Departement
    region: Region
    epci: Epci | None = None
    parent_code: str | None = None
    arrondissements: list[str] | None = None
    cpts: Cpts | None = None
    center: list[float] | None = None
    bbox: list[float] | None = None


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 9457 problem document; `code` is stable, other members depend on it (offenders, limit…)."""

    type: str
    title: str
    status: int
    code: str
    detail: str


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """What a client must respect before it sends a selection."""

    max_communes: int


class Meta(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /api/v1/meta`: what a page shows before any selection (demo banner, data vintages, limits)."""

    data_version: str
    demo: bool  # at least one source is demonstration data: say "données de démonstration"
    sources: list[Source]
    limits: Limits
