"""The aggregate service as seen from the report service: one pooled session, timeouts, typed answers.

Its answers are treated as untrusted input (OWASP API10): size-capped, decoded with the contract's Structs,
and its 4xx problem documents are relayed with their own `code` so that the caller learns which commune
was refused and why.
"""

from __future__ import annotations

import logging

import aiohttp
import msgspec

from services.common.contract import DIAGNOSIS, Diagnosis, DiagnosisRequest
from services.common.errors import ServiceError, Unavailable, UpstreamTimeout
from services.common.http import (
    UPSTREAM_IDLE_S,
    UPSTREAM_RETRY_AFTER_S,
    UpstreamProblem,
    problem_fields,
    read_capped,
    retry_after_of,
)
from services.common.logs import request_id_var
from services.common.web import REQUEST_ID_HEADER

log = logging.getLogger("rezone.report.upstream")
_ENC = msgspec.json.Encoder()


class BadGateway(ServiceError):
    """The aggregate service answered something we cannot use."""

    status, code, title = 502, "bad_gateway", "Réponse invalide du service d'agrégation"


class AggregateClient:
    """Client of `POST /v1/diagnosis`; created and closed in the app's cleanup_ctx."""

    def __init__(self, base_url: str, *, timeout_s: float, connect_timeout_s: float, max_body: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(
            total=timeout_s, connect=connect_timeout_s, sock_connect=connect_timeout_s
        )
        self.max_body = max_body
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the pooled session (never a session per request)."""
        self.session = aiohttp.ClientSession(
            timeout=self.timeout, connector=aiohttp.TCPConnector(limit=32, keepalive_timeout=UPSTREAM_IDLE_S)
        )

    async def close(self) -> None:
        """Close the pooled connections."""
        if self.session is not None:
            await self.session.close()

    def _headers(self) -> dict[str, str]:
        return {REQUEST_ID_HEADER: request_id_var.get(), "Content-Type": "application/json"}

    async def diagnosis(self, communes: list[str], ald: list[str]) -> Diagnosis:
        """The masked diagnosis of a selection, decoded with the shared contract."""
        assert self.session is not None
        body = _ENC.encode(DiagnosisRequest(communes=communes, ald=ald))
        try:
            async with self.session.post(
                f"{self.base_url}/v1/diagnosis", data=body, headers=self._headers()
            ) as resp:
                status, retry_after = resp.status, resp.headers.get("Retry-After")
                raw = await read_capped(
                    resp,
                    self.max_body,
                    lambda: BadGateway("réponse du service d'agrégation trop volumineuse"),
                )
        except TimeoutError as exc:
            raise UpstreamTimeout("le service d'agrégation n'a pas répondu à temps") from exc
        except aiohttp.ClientError as exc:
            raise Unavailable(
                f"service d'agrégation injoignable ({type(exc).__name__})", retry_after=UPSTREAM_RETRY_AFTER_S
            ) from exc
        if 400 <= status < 500:
            problem = problem_fields(raw) or {"detail": raw[:200].decode("utf-8", "replace")}
            raise UpstreamProblem(status, problem, "Requête refusée par le service d'agrégation")
        if status != 200:
            log.warning("aggregate answered %s", status, extra={"upstream_status": status})
            if status == 503:  # its database away, or shedding: when to come back is relayed
                raise Unavailable(
                    "service d'agrégation indisponible (HTTP 503)", retry_after=retry_after_of(retry_after)
                )
            if status == 504:
                raise UpstreamTimeout("service d'agrégation indisponible (HTTP 504)")
            raise BadGateway(f"le service d'agrégation a répondu HTTP {status}")
        try:
            return DIAGNOSIS.decode(raw)
        except msgspec.ValidationError as exc:
            log.error("diagnosis does not match the contract: %s", exc)
            raise BadGateway(f"diagnostic non conforme au contrat : {exc}") from exc
        except msgspec.DecodeError as exc:
            raise BadGateway("diagnostic illisible (JSON invalide)") from exc

    async def ready(self) -> None:
        """Readiness: the aggregate service answers its liveness probe."""
        assert self.session is not None
        # Bounded by /readyz (ready_timeout_s) and the session's own timeout.
        async with self.session.get(f"{self.base_url}/healthz") as resp:
            if resp.status != 200:
                raise RuntimeError(f"aggregate /healthz HTTP {resp.status}")
