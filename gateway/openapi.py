"""The OpenAPI 3.1 document of the public API: components generated from the msgspec Structs, paths by hand.

Diagnosis and summary schemas come from the shared contract (services/common/contract.py), so the document
describes what is actually relayed.
"""

from __future__ import annotations

from typing import Any

import msgspec

from services.common.contract import Diagnosis, Summary

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
    ValidatedSelection,
)

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


_SELECTION_ERRORS = {
    "400": _problem(
        "`invalid_commune_code` (avec `offenders`), `empty_selection`, `unknown_parameter`, "
        "`invalid_parameter`"
    ),
    "413": _problem("`payload_too_large` : corps de plus de 16 Kio"),
    "422": _problem(
        "`unknown_commune` (avec `unknown`), `too_many_communes` (avec `limit` et `count`), "
        "`plm_parent` (avec `arrondissements`), `unknown_indicator`"
    ),
    "429": _problem("`rate_limited`", retry=True),
    "502": _problem("`bad_gateway` : service amont injoignable ou en erreur"),
    "503": _problem("`upstream_unavailable` (disjoncteur ouvert) ou `overloaded`", retry=True),
    "504": _problem("`upstream_timeout`"),
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
    "description": "Nom du projet : 120 caractères au plus (imprimé en entier sur le rapport).",
    "schema": {"type": "string", "maxLength": 120, "pattern": "^[^\u0000]*$"},
}


def _op(
    summary: str,
    ok: dict[str, Any],
    *,
    params: list[Any] | None = None,
    body: str | None = None,
    errors: dict[str, Any] | None = None,
    tag: str = "territoire",
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "parameters": params or [],
        "responses": {"200": ok, **(errors if errors is not None else _SELECTION_ERRORS)},
    }
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    if "ETag" in ok.get("headers", {}):
        op["responses"]["304"] = {"description": "Non modifié (If-None-Match)"}
    return op


def _ok(description: str, media: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "headers": _CACHED, "content": media}


def build(max_communes: int) -> dict[str, Any]:
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
        ValidatedSelection,
        Diagnosis,
        Summary,
    ]
    _, components = msgspec.json.schema_components(types, ref_template=_REF)
    diag_schema = {"$ref": _REF.format(name="Diagnosis")}
    summ_schema = {"$ref": _REF.format(name="Summary")}

    def json_of(schema: dict[str, Any]) -> dict[str, Any]:
        return {"application/json": {"schema": schema}}

    diag_ok = _ok("Diagnostic territorial (données de démonstration)", json_of(diag_schema))
    summ_ok = _ok("Chiffres du bandeau (données de démonstration)", json_of(summ_schema))
    binary = {"type": "string", "format": "binary"}
    pdf_ok = _ok("Rapport PDF", {"application/pdf": {"schema": binary}})
    csv_ok = _ok("Communes de la sélection (CSV)", {"text/csv": {"schema": {"type": "string"}}})
    project_ok = _ok(
        "Fichier projet à réimporter",
        {
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {"schema": {}},
            "application/octet-stream": {"schema": binary},
        },
    )
    lookup_errors = {
        "400": _SELECTION_ERRORS["400"],
        "429": _SELECTION_ERRORS["429"],
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
                    "429": _SELECTION_ERRORS["429"],
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
                            "maxLength": 100,
                            "pattern": r"^[^\u0000]*\S[^\u0000]*$",
                        },
                        "example": "saint denis",
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
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
        "/api/v1/territory": {
            "get": _op("Diagnostic d'une sélection", diag_ok, params=[_codes_param(), _ALD_PARAM]),
            "post": _op("Diagnostic d'une sélection", diag_ok, body="DiagnosisBody"),
        },
        "/api/v1/territory/summary": {
            "get": _op("Chiffres du bandeau d'une sélection", summ_ok, params=[_codes_param()]),
            "post": _op("Chiffres du bandeau d'une sélection", summ_ok, body="SelectionBody"),
        },
        "/api/v1/report.pdf": {
            "get": _op(
                "Rapport PDF", pdf_ok, params=[_codes_param(), _NAME_PARAM, _ALD_PARAM], tag="exports"
            ),
            "post": _op("Rapport PDF", pdf_ok, body="ReportPdfBody", tag="exports"),
        },
        "/api/v1/export.csv": {
            "get": _op("Export CSV des communes", csv_ok, params=[_codes_param()], tag="exports"),
            "post": _op("Export CSV des communes", csv_ok, body="SelectionBody", tag="exports"),
        },
        "/api/v1/project": {
            "get": _op("Fichier projet", project_ok, params=[_codes_param(), _NAME_PARAM], tag="exports"),
            "post": _op("Fichier projet", project_ok, body="ReportBody", tag="exports"),
        },
        "/api/v1/project/import": {
            "post": {
                "summary": "Import d'un fichier projet : renvoie la sélection validée",
                "tags": ["exports"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/octet-stream": {"schema": binary},
                        "text/plain": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "200": {"description": "Sélection validée", "content": json_of({})},
                    **{k: v for k, v in _SELECTION_ERRORS.items()},
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
                f"sélection d'au plus {max_communes} communes. Les données de santé sont des "
                "données de démonstration. Guide : /api/v1/docs."
            ),
            "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [{"name": "données"}, {"name": "communes"}, {"name": "territoire"}, {"name": "exports"}],
        "paths": paths,
        "components": {"schemas": components},
    }
