"""The OpenAPI 3.1 document of the public API: components generated from the msgspec Structs, the relayed
paths from the relay table (gateway/relays.py), limits from the settings.

Diagnosis, summary and project-import schemas come from the shared contract (services/common/contract.py), so
the document describes what is actually relayed.
"""

from __future__ import annotations

from typing import Any

import msgspec

from services.common.contract import Diagnosis, ProjectSelection, Summary
from services.common.validation import MAX_NAME_LENGTH

from .relays import RELAYS, Relay
from .schemas import (
    ALD_PATTERN,
    CODE_PATTERN,
    CommuneDetail,
    DiagnosisBody,
    Meta,
    Problem,
    ReportBody,
    ReportPdfBody,
    SearchResult,
    SelectionBody,
)
from .settings import Settings

_REF = "#/components/schemas/{name}"
PROBLEM = "application/problem+json"


def _problem(description: str, retry: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if retry:
        out["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "secondes"}}
    return out


def _selection_errors(max_body_bytes: int) -> dict[str, Any]:
    return {
        "400": _problem(
            "`invalid_commune_code` (avec `offenders`), `empty_selection`, `unknown_parameter`, "
            "`invalid_parameter`"
        ),
        "413": _problem(f"`payload_too_large` : corps de plus de {max_body_bytes // 1024} Kio"),
        "422": _problem(
            "`unknown_commune` (avec `unknown` et `successors` : la commune qui a absorbé un code fusionné), "
            "`too_many_communes` (avec `limit` et `count`), "
            "`plm_parent` (avec `arrondissements`), `unknown_indicator`"
        ),
        "429": _problem("`rate_limited`", retry=True),
        "502": _problem("`bad_gateway` : service amont injoignable ou en erreur"),
        "503": _problem(
            "`upstream_unavailable` (service amont arrêté, disjoncteur ouvert, base injoignable) ou "
            "`overloaded`",
            retry=True,
        ),
        "504": _problem("`upstream_timeout`"),
    }


# What any route taking a body may also answer.
_BODY_ERRORS = {
    "408": _problem("`request_timeout` : corps reçu trop lentement"),
    "415": _problem("`unsupported_media_type` : le corps doit être déclaré `application/json`"),
}
_CACHED = {
    "ETag": {"schema": {"type": "string"}},
    "Cache-Control": {"schema": {"type": "string"}},
    "X-Cache": {"schema": {"type": "string", "enum": ["HIT", "SHARED", "COALESCED", "MISS", "STALE"]}},
}


def _codes_param(required: bool = True) -> dict[str, Any]:
    return {
        "name": "communes",
        "in": "query",
        "required": required,
        "style": "form",
        "explode": False,
        "description": "Codes INSEE séparés par des virgules (ou paramètre répété).",
        "schema": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "maxLength": 32, "pattern": CODE_PATTERN},
        },
        "example": ["93066", "93070"],
    }


_ALD_PARAM = {
    "name": "ald",
    "in": "query",
    "required": False,
    "style": "form",
    "explode": False,
    "description": "Prévalences ALD à détailler (défaut : les cinq plus fréquentes).",
    "schema": {"type": "array", "items": {"type": "string", "maxLength": 32, "pattern": ALD_PATTERN}},
}
_NAME_PARAM = {
    "name": "name",
    "in": "query",
    "required": False,
    "description": "Nom du projet.",
    "schema": {"type": "string", "maxLength": MAX_NAME_LENGTH, "pattern": "^[^\u0000]*$"},
}


_OPTION_PARAMS = {"ald": _ALD_PARAM, "name": _NAME_PARAM}
_MEDIA_SCHEMA: dict[str, dict[str, Any]] = {
    "application/pdf": {"type": "string", "format": "binary"},
    "text/csv": {"type": "string"},
    "text/plain": {"type": "string"},
}


def _op(
    summary: str,
    ok: dict[str, Any],
    *,
    params: list[Any] | None = None,
    body: str | None = None,
    errors: dict[str, Any],
    tag: str = "territoire",
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "parameters": params or [],
        "responses": {"200": ok, **errors},
    }
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
        op["responses"].update(_BODY_ERRORS)
    if "ETag" in ok.get("headers", {}):
        op["responses"]["304"] = {"description": "Non modifié (If-None-Match)"}
    return op


def _ok(description: str, media: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "headers": _CACHED, "content": media}


def _relay_paths(relay: Relay, errors: dict[str, Any]) -> dict[str, Any]:
    """GET and POST of one relay, from its declaration."""
    schema = {"$ref": _REF.format(name=relay.schema)} if relay.schema else _MEDIA_SCHEMA[relay.media]
    ok = _ok(relay.answer, {relay.media: {"schema": schema}})
    params = [_codes_param(), *(_OPTION_PARAMS[o] for o in relay.options)]
    return {
        "get": _op(relay.summary, ok, params=params, errors=errors, tag=relay.tag),
        "post": _op(relay.summary, ok, body=relay.body.__name__, errors=errors, tag=relay.tag),
    }


def build(settings: Settings) -> dict[str, Any]:
    """The whole document, built once at start-up."""
    types = [
        SelectionBody,
        DiagnosisBody,
        ReportBody,
        ReportPdfBody,
        SearchResult,
        CommuneDetail,
        Meta,
        Problem,
        ProjectSelection,
        Diagnosis,
        Summary,
    ]
    _, components = msgspec.json.schema_components(types, ref_template=_REF)
    selection_errors = _selection_errors(settings.client_max_size)

    def json_of(schema: dict[str, Any]) -> dict[str, Any]:
        return {"application/json": {"schema": schema}}

    lookup_errors = {
        "400": selection_errors["400"],
        "429": selection_errors["429"],
        "503": _problem("base de données indisponible ou `overloaded`", retry=True),
        "504": _problem("délai dépassé"),
    }
    paths: dict[str, Any] = {
        "/api/v1/meta": {
            "get": _op(
                "Version des données, sources et millésimes, drapeau « données de démonstration », limites",
                {
                    "description": "À afficher dès l'ouverture, avant toute sélection",
                    "headers": {k: _CACHED[k] for k in ("ETag", "Cache-Control")},
                    "content": json_of({"$ref": _REF.format(name="Meta")}),
                },
                errors={
                    "400": _problem("`unknown_parameter`"),
                    "429": selection_errors["429"],
                    "503": _problem("`overloaded`", retry=True),
                },
                tag="données",
            )
        },
        "/api/v1/communes": {
            "get": _op(
                "Recherche de communes par nom ou par code (préfixe, sans accents ni casse)",
                _ok(
                    "Communes classées : nom exact d'abord, puis population",
                    json_of({"$ref": _REF.format(name="SearchResult")}),
                ),
                params=[
                    {
                        "name": "q",
                        "in": "query",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": settings.search_max_chars,
                            "pattern": r"^[^\u0000]*\S[^\u0000]*$",
                        },
                        "example": "saint denis",
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": settings.search_limit_max,
                            "default": 10,
                        },
                    },
                ],
                errors=lookup_errors,
                tag="communes",
            )
        },
        "/api/v1/communes/{code}": {
            "get": _op(
                "Une commune ou un arrondissement municipal",
                _ok("La commune", json_of({"$ref": _REF.format(name="CommuneDetail")})),
                params=[
                    {
                        "name": "code",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 32},
                        "example": "2A004",
                    }
                ],
                errors={**lookup_errors, "404": _problem("`unknown_commune`")},
                tag="communes",
            )
        },
        **{relay.route: _relay_paths(relay, selection_errors) for relay in RELAYS},
        "/api/v1/project/import": {
            "post": {
                "summary": "Import d'un fichier projet : renvoie la sélection validée",
                "tags": ["exports"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/octet-stream": {"schema": _MEDIA_SCHEMA["application/pdf"]},
                        "text/plain": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "200": {
                        "description": "Sélection validée",
                        "content": json_of({"$ref": _REF.format(name="ProjectSelection")}),
                    },
                    **selection_errors,
                    "408": _BODY_ERRORS["408"],
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rézone CPTS",
            "version": "1.0.0",
            "description": (
                f"API publique de Rézone CPTS : recherche de communes et diagnostic d'une "
                f"sélection d'au plus {settings.max_communes} communes. Les données de santé sont des "
                "données de démonstration. Guide : /api/v1/docs."
            ),
            "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [{"name": "données"}, {"name": "communes"}, {"name": "territoire"}, {"name": "exports"}],
        "paths": paths,
        "components": {"schemas": components},
    }
