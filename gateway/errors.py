"""Errors a gateway client may see, each with its stable `code` (documented in docs/api.md)."""

from __future__ import annotations

from services.common.errors import BadRequest, ServiceError, Unavailable, Unprocessable

# The shared selection vocabulary, re-exported (`X as X`: an explicit re-export for mypy and ruff).
from services.common.validation import EmptySelection as EmptySelection
from services.common.validation import InvalidCommuneCode as InvalidCommuneCode
from services.common.validation import TooManyCommunes as TooManyCommunes
from services.common.validation import UnknownCommune as UnknownCommune
from services.common.validation import UnknownIndicator as UnknownIndicator


class UnknownParameter(BadRequest):
    """A query parameter the route does not know (keeps cache keys canonical)."""

    code, title = "unknown_parameter", "Paramètre inconnu"


class InvalidParameter(BadRequest):
    """A query parameter or body field with a bad value."""

    code, title = "invalid_parameter", "Paramètre invalide"


class PlmParent(Unprocessable):
    """Paris, Lyon or Marseille as a whole: the selection is made of its arrondissements."""

    code, title = "plm_parent", "Commune à arrondissements"


class CommuneNotFound(ServiceError):
    """No commune with this code."""

    status, code, title = 404, "unknown_commune", "Commune inconnue"


class RateLimited(ServiceError):
    """This client sent more API requests than its budget."""

    status, code, title = 429, "rate_limited", "Trop de requêtes"


class UnknownApiKey(ServiceError):
    """An API key was sent that the operator did not configure (the public API needs none)."""

    status, code, title = 401, "unknown_api_key", "Clé d'API inconnue"


class Overloaded(Unavailable):
    """The gateway sheds load: too many requests in flight."""

    code, title = "overloaded", "Service surchargé"


class UpstreamUnavailable(Unavailable):
    """The upstream's circuit breaker is open: fail fast instead of piling onto it."""

    code, title = "upstream_unavailable", "Service amont indisponible"


class BadGateway(ServiceError):
    """The upstream could not be reached or answered with a server error."""

    status, code, title = 502, "bad_gateway", "Service amont en erreur"


class InvalidCursor(BadRequest):
    """A page cursor this list did not hand out (start again from the first page)."""

    code, title = "invalid_cursor", "Curseur invalide"


class InvalidTerritoryCode(BadRequest):
    """A département, région or EPCI code that is not of its form (`level` says which)."""

    code, title = "invalid_territory_code", "Code de territoire invalide"


class UnknownTerritory(ServiceError):
    """A well-formed département, région or EPCI code that names none."""

    status, code, title = 404, "unknown_territory", "Territoire inconnu"
