"""Domain errors: no HTTP imports here; the error middleware maps `status` and `code` to problem+json."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base of every error a client may see; `code` is stable and documented."""

    status = 500
    code = "internal_error"
    title = "Erreur interne"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequest(ServiceError):
    """Malformed request: parameters, body or path."""

    status, code, title = 400, "bad_request", "Requête invalide"


class NotFound(ServiceError):
    """The addressed resource does not exist."""

    status, code, title = 404, "not_found", "Ressource introuvable"


class Unprocessable(ServiceError):
    """Well-formed request that the data cannot satisfy (unknown commune, too many communes…)."""

    status, code, title = 422, "unprocessable", "Requête impossible à satisfaire"


class PayloadTooLarge(ServiceError):
    """Body over the configured limit."""

    status, code, title = 413, "payload_too_large", "Requête trop volumineuse"


class UnsupportedMediaType(ServiceError):
    """A body in a format the route does not take (text/plain where JSON is expected)."""

    status, code, title = 415, "unsupported_media_type", "Type de contenu non pris en charge"


class RequestTimeout(ServiceError):
    """The client did not send its body in time."""

    status, code, title = 408, "request_timeout", "Requête trop lente"


class Unavailable(ServiceError):
    """A dependency is down or the service sheds load."""

    status, code, title = 503, "unavailable", "Service indisponible"


class UpstreamTimeout(ServiceError):
    """A dependency did not answer in time."""

    status, code, title = 504, "timeout", "Délai dépassé"


class ImportRejected(Exception):
    """A source file was refused; nothing from it was loaded."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {reason}")
        self.file, self.line, self.reason = file, line, reason


# The errors of the batch routes, answered by the report service and documented by the gateway.
class UnknownBatch(NotFound):
    """No batch (or no report of it) under this id: never made, or expired and deleted."""

    code, title = "unknown_batch", "Lot de rapports inconnu"


class ReportNotReady(ServiceError):
    """The PDF is not made yet: poll the batch (Retry-After), then ask again."""

    status, code, title = 409, "report_not_ready", "Rapport pas encore prêt"


class ReportFailed(ServiceError):
    """This report of the batch could not be made (`problem` says why)."""

    status, code, title = 409, "report_failed", "Rapport en échec"
