"""Our own stand-ins for the three upstreams, for the resilience cases (count calls, delay, fail, stop).

Each double is a real aiohttp server on its own port, run in a background thread with its own event loop, so
that a gateway process started synchronously by `run_service` can reach it while the test's loop is blocked.
Answers are deterministic functions of the request, like the real services' for one data version. Request
bodies are decoded with the contract's Structs (services/common/contract/), as the real services do, so a
gateway that sends a body off the contract gets the 400 the real service would give. Answers are contract
Structs too: the diagnosis and the summary are the ones recorded from the real aggregate service
(tests/fixtures, kept equal to it by tests/aggregate/test_recorded.py) for the communes asked, and the
project-import answer is a `ProjectSelection`.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections import Counter

import msgspec
from aiohttp import web

from deploy.local.cluster import free_port
from services.common.contract import (
    DIAGNOSIS_REQUEST,
    SUMMARY_REQUEST,
    BatchItem,
    BatchRequest,
    BatchStatus,
    ExportRequest,
    ProjectRequest,
    ProjectSelection,
    ReportRequest,
)
from tests.fixtures import recorded_diagnosis, recorded_summary

TILE = gzip.compress(b"\x1a\x0fdemo-tile-bytes" * 40, mtime=0)
_REQUESTS: dict[str, msgspec.json.Decoder] = {
    "diagnosis": DIAGNOSIS_REQUEST,
    "summary": SUMMARY_REQUEST,
    "report.pdf": msgspec.json.Decoder(ReportRequest),
    "export.csv": msgspec.json.Decoder(ExportRequest),
    "project": msgspec.json.Decoder(ProjectRequest),
    "reports": msgspec.json.Decoder(BatchRequest),
}
_UNKNOWN_BATCH = {
    "code": "unknown_batch",
    "title": "Lot de rapports inconnu",
    "detail": "double: no batch kept",
}


_DIAGNOSIS = recorded_diagnosis()
_SUMMARY = recorded_summary()


def _diagnosis(codes: list[str]) -> bytes:
    """The recorded diagnosis, its commune rows those of the codes asked (in the order received)."""
    row = _DIAGNOSIS.communes[0]
    rows = [msgspec.structs.replace(row, code=code) for code in codes]
    return msgspec.json.encode(msgspec.structs.replace(_DIAGNOSIS, communes=rows))


def _summary(codes: list[str]) -> bytes:
    return msgspec.json.encode(msgspec.structs.replace(_SUMMARY, commune_count=len(codes)))


class Double:
    """One upstream stand-in; `calls` counts requests by path, `bodies` keeps what was received."""

    def __init__(self, name: str, loop: asyncio.AbstractEventLoop) -> None:
        self.name, self.loop = name, loop
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.calls: Counter[str] = Counter()
        self.bodies: list[tuple[str, dict]] = []
        self.request_ids: list[str] = []
        self.delay = 0.0
        self.status: int | None = None  # force this status on API routes
        self.retry_after: str | None = None  # sent with the forced status
        self.shed_next = (
            0  # answer the next N API calls 503 + Retry-After (a replica at its cap), then normally
        )
        self.runner: web.AppRunner | None = None

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_post("/v1/{what:.+}", self._api)
        # Batches are accepted (202, every report waiting) but never kept: any later read is unknown_batch.
        app.router.add_get("/v1/reports/{tail:.+}", self._no_batch)
        app.router.add_get("/tiles/{tail:.*}", self._tiles)
        app.router.add_get("/styles/{tail:.*}", self._tiles)
        return app

    async def _no_batch(self, request: web.Request) -> web.Response:
        self.calls["reports/" + request.match_info["tail"]] += 1
        return web.json_response(_UNKNOWN_BATCH, status=404, content_type="application/problem+json")

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _api(self, request: web.Request) -> web.Response:
        what = request.match_info["what"]
        self.calls[what] += 1
        self.request_ids.append(request.headers.get("X-Request-ID", ""))
        raw = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.shed_next > 0:
            self.shed_next -= 1
            return web.json_response(
                {"code": "overloaded", "title": "shed", "detail": "double at its cap"},
                status=503,
                headers={"Retry-After": "1"},
            )
        if self.status is not None:
            headers = {"Retry-After": self.retry_after} if self.retry_after else None
            return web.json_response(
                {"code": "forced", "title": "forced", "detail": "forced"}, status=self.status, headers=headers
            )
        if what == "project/import":
            try:
                codes = [line.strip() for line in raw.decode().splitlines() if line.strip()]
            except UnicodeDecodeError:
                return web.json_response({"code": "invalid_project", "title": "x", "detail": "x"}, status=400)
            restored = ProjectSelection(
                format="projet",
                format_version=1,
                name=None,
                created_on=None,
                data_version=None,
                current_data_version="double",
                outdated=False,
                communes=codes,
                issues=[],
                renamed=[],
            )
            return web.Response(body=msgspec.json.encode(restored), content_type="application/json")
        try:
            _REQUESTS[what].decode(raw)
        except (KeyError, msgspec.ValidationError, msgspec.DecodeError) as exc:
            problem = {"code": "contract_violation", "title": "Hors contrat", "detail": str(exc)}
            return web.json_response(problem, status=400)
        body = msgspec.json.decode(raw)
        self.bodies.append((what, body))
        if what == "reports":
            items = [
                BatchItem(
                    item=i,
                    state="pending",
                    label="en attente",
                    name=r.get("name"),
                    communes=len(r["communes"]),
                )
                for i, r in enumerate(body["reports"], 1)
            ]
            status = BatchStatus(
                job="00000000-0000-4000-8000-000000000000",
                state="pending",
                created_at="2026-12-02T17:00:00+00:00",
                expires_at="2026-12-03T17:00:00+00:00",
                items=items,
            )
            return web.Response(body=msgspec.json.encode(status), status=202, content_type="application/json")
        if what == "report.pdf":
            return web.Response(
                body=b"%PDF-1.7\n% double " + ",".join(body["communes"]).encode(),
                content_type="application/pdf",
                headers={"Content-Disposition": 'attachment; filename="Projet_CPTS.pdf"'},
            )
        if what == "export.csv":
            return web.Response(text="code\n" + "\n".join(body["communes"]) + "\n", content_type="text/csv")
        if what == "project":
            return web.Response(text="\n".join(body["communes"]) + "\n", content_type="text/plain")
        answer = _diagnosis if what == "diagnosis" else _summary
        return web.Response(body=answer(body["communes"]), content_type="application/json")

    async def _tiles(self, request: web.Request) -> web.Response:
        self.calls["tiles"] += 1
        self.request_ids.append(request.headers.get("X-Request-ID", ""))
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.path.endswith(".mvt"):
            etag = '"tile-v1"'
            headers = {
                "ETag": etag,
                "Cache-Control": "public, max-age=31536000, immutable",
                "Connection": "keep-alive",
                "X-Upstream-Encoding-Asked": request.headers.get("Accept-Encoding", ""),
            }
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers=headers)
            if "gzip" not in request.headers.get("Accept-Encoding", ""):
                return web.Response(
                    body=gzip.decompress(TILE),
                    headers=headers,
                    content_type="application/vnd.mapbox-vector-tile",
                )
            return web.Response(
                body=TILE,
                headers={**headers, "Content-Encoding": "gzip"},
                content_type="application/vnd.mapbox-vector-tile",
            )
        if request.path.endswith(".json"):
            return web.json_response(
                {
                    "tilejson": "3.0.0",
                    "tiles": [f"{request.path}"],
                    "forwarded_host": request.headers.get("X-Forwarded-Host"),
                }
            )
        return web.json_response({"code": "not_found"}, status=404)

    def start(self) -> None:
        """Listen (again) on this double's port."""

        async def go() -> None:
            self.runner = web.AppRunner(self._app(), shutdown_timeout=1.0)
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

        asyncio.run_coroutine_threadsafe(go(), self.loop).result(10)

    def stop(self) -> None:
        """Close the port: the gateway now gets connection refused."""
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
            self.runner = None


class Doubles:
    """tiles, aggregate and report doubles sharing one background loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.tiles = Double("tiles", self.loop)
        self.aggregate = Double("aggregate", self.loop)
        self.report = Double("report", self.loop)
        for d in self.all():
            d.start()

    def all(self) -> tuple[Double, Double, Double]:
        """The three doubles."""
        return self.tiles, self.aggregate, self.report

    def env(self) -> dict[str, str]:
        """Gateway settings pointing at these doubles."""
        return {
            "REZONE_GATEWAY_TILES_URL": self.tiles.url,
            "REZONE_GATEWAY_AGGREGATE_URL": self.aggregate.url,
            "REZONE_GATEWAY_REPORT_URL": self.report.url,
        }

    def close(self) -> None:
        """Stop every server and the loop."""
        for d in self.all():
            d.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
