"""Pieces several operations of the route table share: the selection parameters and the error sets.

Each error names its class (status and `code` come from it) and what its problem document carries.
"""

from __future__ import annotations

from services.common.db import DB_RETRY_AFTER_S
from services.common.errors import Unavailable, UpstreamTimeout
from services.common.validation import (
    CODE_PATTERN,
    MAX_NAME_LENGTH,
    EmptySelection,
    InvalidCommuneCode,
    InvalidName,
    TooManyCommunes,
    UnknownCommune,
    UnknownIndicator,
)

from .apitable import Fails, Param
from .errors import (
    BadGateway,
    InvalidParameter,
    Overloaded,
    PlmParent,
    UnknownParameter,
    UpstreamUnavailable,
)
from .schemas import ALD_PATTERN
from .upstream import UpstreamTimeoutError

COMMUNES = Param(
    "communes",
    {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "maxLength": 32, "pattern": CODE_PATTERN},
    },
    "Codes INSEE séparés par des virgules (ou paramètre répété).",
    required=True,
    example=["93066", "93070"],
    listed=True,
)
ALD = Param(
    "ald",
    {"type": "array", "items": {"type": "string", "maxLength": 32, "pattern": ALD_PATTERN}},
    "Prévalences ALD à détailler (défaut : les cinq plus fréquentes).",
    example=["ald_08"],
    listed=True,
)
NAME = Param(
    "name",
    {"type": "string", "maxLength": MAX_NAME_LENGTH, "pattern": "^[^\u0000]*$"},
    "Nom du projet.",
    example="CPTS du Val de Saône",
)
# Options a relay may take besides `communes` (gateway/relays.py names them by field).
OPTIONS = {"ald": ALD, "name": NAME}

UNKNOWN_PARAMETER = Fails(UnknownParameter, "avec `parameters`")
INVALID_PARAMETER = Fails(InvalidParameter)
# Whatever reads the database: down or too slow.
DATABASE = (
    Fails(Unavailable, "base de données ou catalogue indisponible", retry=True),
    Fails(UpstreamTimeout, "la base n'a pas répondu à temps"),
)
SELECTION = (
    Fails(InvalidCommuneCode, "avec `offenders` et `count`"),
    Fails(EmptySelection),
    UNKNOWN_PARAMETER,
    INVALID_PARAMETER,
    Fails(InvalidName, lambda s: f"plus de {s.max_name_length} caractères ou caractères de contrôle"),
    Fails(
        UnknownCommune,
        "avec `unknown` et `successors` : la commune qui a absorbé un code fusionné",
    ),
    Fails(
        TooManyCommunes, lambda s: f"plus de {s.max_communes} communes distinctes ; avec `limit` et `count`"
    ),
    Fails(PlmParent, "avec `arrondissements`"),
    Fails(UnknownIndicator, "avec `unknown`"),
)
UPSTREAM = (
    Fails(BadGateway, "service amont injoignable ou en erreur"),
    Fails(UpstreamUnavailable, "service amont arrêté ou disjoncteur ouvert", retry=True),
    Fails(Overloaded, "trop de requêtes en cours", retry=True),
    Fails(UpstreamTimeoutError),
    Fails(Unavailable, f"base de données indisponible (Retry-After {DB_RETRY_AFTER_S} s)", retry=True),
)
