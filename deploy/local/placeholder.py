"""Stand-in for the public port while the gateway package does not exist yet: health endpoints only."""

from __future__ import annotations

import os

from aiohttp import web

from services.common.web import base_app, run

if __name__ == "__main__":
    app = base_app("placeholder")
    app.router.add_get("/", lambda _: web.Response(text="Rézone CPTS: gateway not built yet\n"))
    run(app, host=os.environ.get("REZONE_GATEWAY_HOST", "127.0.0.1"),
        port=int(os.environ.get("REZONE_GATEWAY_PORT", "8080")))
