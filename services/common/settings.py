"""Settings read once from the environment into frozen msgspec Structs."""

from __future__ import annotations

import os
from typing import TypeVar

import msgspec

T = TypeVar("T", bound=msgspec.Struct)


class ServiceSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What every service reads: where it listens, its database pool and the timeouts around them.

    Each service's `settings.py` subclasses it, overriding a default where its load differs (a field
    redeclared in a subclass keeps its place and takes the new default).
    """

    database_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    pool_min: int = 1
    pool_max: int = 4
    # Server-side cap of one statement (also the driver's command timeout).
    statement_timeout_s: float = 5.0
    # How long a handler waits for a pooled connection before answering 503.
    acquire_timeout_s: float = 2.0
    # /readyz: each dependency check gets this long before it counts as failed.
    ready_timeout_s: float = 3.0
    # SIGTERM: in-flight requests get this long to finish.
    shutdown_timeout_s: float = 20.0
    # Slow clients: the request line and headers within this (slow-loris; also the idle keep-alive limit),
    # the body within that (408 after it).
    header_timeout_s: float = 15.0
    body_timeout_s: float = 10.0
    # Request body limit in bytes (413 beyond it).
    client_max_size: int = 1 << 20


def load_settings(cls: type[T], prefix: str, environ: dict[str, str] | None = None) -> T:
    """Build `cls` from `PREFIX_FIELD` variables (FIELD: the field's encoded name, so that a field
    renamed in a subclass keeps an older variable name); `DATABASE_URL`, `REDIS_URL` and
    `REZONE_PUBLIC_URL` (the origin users reach, for the URLs a service writes into documents) are read
    unprefixed too.

    A malformed value fails at boot with the field's path, never later at request time.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    fields = {f.encode_name for f in msgspec.structs.fields(cls)}
    for shared, variable in (
        ("database_url", "DATABASE_URL"),
        ("redis_url", "REDIS_URL"),
        ("public_url", "REZONE_PUBLIC_URL"),
    ):
        if shared in fields and variable in env:
            raw[shared] = env[variable]
    for key, value in env.items():
        if key.startswith(prefix):
            name = key.removeprefix(prefix).lower()
            if name in fields:
                raw[name] = value
    try:
        return msgspec.convert(raw, cls, strict=False)
    except msgspec.ValidationError as exc:
        raise SystemExit(f"invalid setting ({prefix}*): {exc}") from exc


def redact_dsn(dsn: str) -> str:
    """The DSN with its password replaced, for logs."""
    if "@" not in dsn or "://" not in dsn:
        return dsn
    scheme, rest = dsn.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"
