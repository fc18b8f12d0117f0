"""Settings read once from the environment into frozen msgspec Structs."""

from __future__ import annotations

import os
from typing import TypeVar

import msgspec

T = TypeVar("T", bound=msgspec.Struct)


def load_settings(cls: type[T], prefix: str, environ: dict[str, str] | None = None) -> T:
    """Build `cls` from `PREFIX_FIELD` variables; `DATABASE_URL` and `REDIS_URL` are read unprefixed too.

    A malformed value fails at boot with the field's path, never later at request time.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    fields = {f.name for f in msgspec.structs.fields(cls)}
    for shared in ("database_url", "redis_url"):
        if shared in fields and shared.upper() in env:
            raw[shared] = env[shared.upper()]
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
