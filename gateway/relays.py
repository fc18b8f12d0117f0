"""The endpoints the gateway relays to the aggregate and report services, declared once.

Each relay says where it goes, which options it takes, how its upstream body and cache key are built and how
the OpenAPI document presents it; the handlers and their route-table entries (routes.py), the cache pre-warm
(prewarm.py) and so the OpenAPI paths (openapi.py) are all derived from this table, so that a request, its
pre-warmed twin and its documentation cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from services.common.contract import (
    Diagnosis,
    DiagnosisRequest,
    ExportRequest,
    ProjectRequest,
    ReportRequest,
    Summary,
    SummaryRequest,
)

from .normalise import cache_key
from .schemas import DiagnosisBody, ReportBody, ReportPdfBody, SelectionBody
from .settings import Settings


@dataclass(frozen=True)
class Ask:
    """A validated request: canonical codes, ALD ids (None: the default), project name, the report's day."""

    codes: tuple[str, ...]
    ald: tuple[str, ...] | None = None
    name: str | None = None
    day: dt.date | None = None


@dataclass(frozen=True)
class Relay:
    """One relayed endpoint (GET with the query string, POST with a JSON body)."""

    name: str  # cache and metrics label
    route: str  # public path
    upstream: str  # key of app[UPSTREAMS]
    path: str  # upstream path
    timeout: Callable[[Settings], float]
    body: type[SelectionBody]  # the POST body Struct (its fields are the GET options too)
    build: Callable[[Ask], tuple[msgspec.Struct, tuple[str, ...]]]  # upstream body, cache key extras
    summary: str  # OpenAPI
    answer: str  # OpenAPI: description of the 200
    media: str  # OpenAPI: content type of the 200 ("application/json" answers reference `struct`)
    operation: str  # OpenAPI: operation ids get{operation} and post{operation}
    struct: type[msgspec.Struct] | None = None
    tag: str = "territoire"
    # A read the upstream answers cheaply: shed once, it may be sent again (Upstream.call). Not the PDF,
    # whose shedding is the render queue's cap and must hold.
    retry_shed: bool = True

    @property
    def options(self) -> tuple[str, ...]:
        """Query parameters besides `communes`."""
        return tuple(f for f in self.body.__struct_fields__ if f != "communes")

    def call(self, version: str, ask: Ask) -> tuple[str, msgspec.Struct]:
        """(cache key, upstream body): equal requests share a key, which names all the bytes depend on."""
        payload, extra = self.build(ask)
        return cache_key(version, self.name, ask.codes, *extra), payload


def _day(ask: Ask) -> str:
    assert ask.day is not None, "report relays are asked with the printed day"
    return ask.day.isoformat()


def _diagnosis(ask: Ask) -> tuple[msgspec.Struct, tuple[str, ...]]:
    ald = ask.ald or ()
    return DiagnosisRequest(communes=list(ask.codes), ald=list(ald)), ("ald=" + ",".join(ald),)


def _summary(ask: Ask) -> tuple[msgspec.Struct, tuple[str, ...]]:
    return SummaryRequest(communes=list(ask.codes)), ()


def _named(ask: Ask) -> tuple[str, ...]:
    # The printed date is fixed here, so the key says all the bytes depend on.
    return ("day=" + _day(ask), *(("name=" + ask.name,) if ask.name is not None else ()))


def _report(ask: Ask) -> tuple[msgspec.Struct, tuple[str, ...]]:
    # The targeted ALD get their own table in the report (validated as for the diagnosis).
    ald = list(ask.ald or ())
    extra = (*_named(ask), *(("ald=" + ",".join(ald),) if ald else ()))
    return ReportRequest(communes=list(ask.codes), name=ask.name, ald=ald, date=_day(ask)), extra


def _export(ask: Ask) -> tuple[msgspec.Struct, tuple[str, ...]]:
    return ExportRequest(communes=list(ask.codes)), ("day=" + _day(ask),)  # the file says when it was made


def _project(ask: Ask) -> tuple[msgspec.Struct, tuple[str, ...]]:
    return ProjectRequest(communes=list(ask.codes), name=ask.name, date=_day(ask)), _named(ask)


def _diagnosis_timeout(s: Settings) -> float:
    return s.diagnosis_timeout_s


def _report_timeout(s: Settings) -> float:
    return s.report_timeout_s


RELAYS = (
    Relay(
        "diagnosis",
        "/api/v1/territory",
        "aggregate",
        "/v1/diagnosis",
        _diagnosis_timeout,
        DiagnosisBody,
        _diagnosis,
        "Diagnostic d'une sélection",
        "Diagnostic territorial (données de démonstration)",
        "application/json",
        "Diagnosis",
        Diagnosis,
    ),
    Relay(
        "summary",
        "/api/v1/territory/summary",
        "aggregate",
        "/v1/summary",
        _diagnosis_timeout,
        SelectionBody,
        _summary,
        "Chiffres du bandeau d'une sélection",
        "Chiffres du bandeau (données de démonstration)",
        "application/json",
        "Summary",
        Summary,
    ),
    Relay(
        "report.pdf",
        "/api/v1/report.pdf",
        "report",
        "/v1/report.pdf",
        _report_timeout,
        ReportPdfBody,
        _report,
        "Rapport PDF",
        "Rapport PDF",
        "application/pdf",
        "ReportPdf",
        tag="exports",
        retry_shed=False,
    ),
    Relay(
        "export.csv",
        "/api/v1/export.csv",
        "report",
        "/v1/export.csv",
        _report_timeout,
        SelectionBody,
        _export,
        "Export CSV des communes",
        "Communes de la sélection (CSV)",
        "text/csv",
        "ExportCsv",
        tag="exports",
    ),
    Relay(
        "project",
        "/api/v1/project",
        "report",
        "/v1/project",
        _report_timeout,
        ReportBody,
        _project,
        "Fichier projet",
        "Fichier projet à réimporter",
        "text/plain",
        "ProjectFile",
        tag="exports",
    ),
)
RELAY = {relay.name: relay for relay in RELAYS}
