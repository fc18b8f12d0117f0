"""The gateway's public route table: each operation declared once, next to its handler, with what the OpenAPI
document says of it (gateway/openapi.py builds every path from this table, nothing by hand).

A handler is registered with `@api.get(path, Doc(...))` (or `api.add`): the app adds the route, the document
adds the operation, and a test checks that the two sets are equal. Texts that state a limit are functions of
the settings, so that the number printed is the number enforced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.typedefs import Handler

from services.common.errors import ServiceError

from .settings import Settings

Text = str | Callable[[Settings], str]


def text(value: Text, settings: Settings) -> str:
    """A fixed text, or one that names a setting's value."""
    return value if isinstance(value, str) else value(settings)


@dataclass(frozen=True)
class Param:
    """A query or path parameter."""

    name: str
    schema: dict[str, Any] | Callable[[Settings], dict[str, Any]]
    description: str = ""
    where: str = "query"
    required: bool = False
    example: Any = None
    # A list sent as `a,b` (form style, not exploded), as `communes` is.
    listed: bool = False


@dataclass(frozen=True)
class Fails:
    """An error the operation may answer: its class gives the status and the `code`; `note`, what it says."""

    error: type[ServiceError]
    note: Text = ""
    retry: bool = False  # answered with Retry-After


@dataclass(frozen=True)
class Answer:
    """The 200: a Struct (JSON, its schema a component) or a media type with an inline schema."""

    description: str
    media: str = "application/json"
    struct: type[msgspec.Struct] | None = None
    schema: dict[str, Any] | None = None
    # Conditional answers carry ETag and Cache-Control, and a 304 is documented.
    cached: bool = True
    # X-Cache: answers kept by the gateway's cache say where they came from.
    x_cache: bool = False
    # Pages carry an RFC 8288 Link header (next, first).
    paged: bool = False
    # An answer as the route gives it (a Struct, or a function of the settings making one).
    example: Any = None
    # 202 for work accepted and done later; headers it carries besides the usual ones (Location).
    status: int = 200
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Body:
    """A request body: a JSON Struct, or raw media types (the project file upload)."""

    struct: type[msgspec.Struct] | None = None
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    example: Any = None


@dataclass(frozen=True)
class Doc:
    """What the OpenAPI document says of one operation."""

    operation_id: str
    summary: str
    tag: str
    answer: Answer
    description: Text = ""
    params: tuple[Param, ...] = ()
    body: Body | None = None
    fails: tuple[Fails, ...] = ()


@dataclass(frozen=True)
class Operation:
    """One method on one path, its handler and its documentation."""

    method: str
    path: str
    handler: Handler
    doc: Doc


class ApiTable:
    """Operations in declaration order (the document lists them so)."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def add(self, method: str, path: str, handler: Handler, doc: Doc) -> None:
        """Declare one operation."""
        self.operations.append(Operation(method.upper(), path, handler, doc))

    def get(self, path: str, doc: Doc) -> Callable[[Handler], Handler]:
        """Decorator: a GET operation (aiohttp answers HEAD too)."""
        return self._decorator("GET", path, doc)

    def post(self, path: str, doc: Doc) -> Callable[[Handler], Handler]:
        """Decorator: a POST operation."""
        return self._decorator("POST", path, doc)

    def _decorator(self, method: str, path: str, doc: Doc) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(method, path, handler, doc)
            return handler

        return register

    def register(self, app: web.Application) -> None:
        """Add every operation's route to the app."""
        for op in self.operations:
            if op.method == "GET":
                app.router.add_get(op.path, op.handler)  # and HEAD
            else:
                app.router.add_route(op.method, op.path, op.handler)


# The operations of every module of the gateway: routes.py and listings.py add theirs at import.
API = ApiTable()
