"""Typst compilation: static templates, data through `sys_inputs`, bundled fonts, a cap and a time limit.

Each compile is a fresh `typst.compile` call in a worker thread (the binding releases the GIL); a Compiler is
never shared between threads. The font set is scanned once and shared: `typst.Fonts` is an immutable handle
(a PyO3 class, which PyO3 requires to be `Sync`; concurrent compiles sharing it are exercised by the tests).
A compile cannot be interrupted from Python, so the time limit answers the client and the slot of the
semaphore is only given back when the thread really finishes: the concurrency cap holds even for runaway
compiles.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from pathlib import Path
from typing import Any, cast

import typst

from services.common.concurrency import InflightCap
from services.common.errors import ServiceError, Unavailable

log = logging.getLogger("rezone.report.render")

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
FONTS_DIR = PACKAGE_DIR / "fonts"
REPORT_TEMPLATE = TEMPLATES_DIR / "report.typ"


class RenderFailed(ServiceError):
    """Typst refused the document (a template defect, never the user's data)."""

    status, code, title = 500, "render_failed", "Échec de la mise en page du rapport"


class RenderTimeout(ServiceError):
    """The compile took longer than the configured limit."""

    status, code, title = 504, "render_timeout", "Mise en page trop longue"


class Renderer:
    """Compiles the report template; one per application, created in cleanup_ctx."""

    def __init__(
        self,
        *,
        max_parallel: int,
        max_queued: int,
        timeout_s: float,
        pdf_standard: str | None = "ua-1",
        template: Path = REPORT_TEMPLATE,
    ) -> None:
        self.slots = asyncio.Semaphore(max_parallel)
        # Compiles running or queued; released when the compile ends, not when its caller gives up.
        self.waiting = InflightCap(
            max_parallel + max_queued,
            lambda: Unavailable(
                "trop de rapports en cours de mise en page, réessayez dans un instant", retry_after=2
            ),
        )
        self.timeout_s = timeout_s
        # PDF/UA-1 (tagged, with language, title and reading order checked by Typst at export); None writes
        # an untagged PDF, kept only as an operator's fallback.
        self.pdf_standard = pdf_standard
        # Another template only for bench_compile.py, which times variants against the service's options.
        self.template = template
        self.fonts = typst.Fonts(
            include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(FONTS_DIR)]
        )
        self.families = self.fonts.families()

    def _compile(self, data: bytes, timestamp: int) -> bytes:
        started = time.perf_counter()
        pdf = typst.compile(
            str(self.template),
            root=str(self.template.parent),
            font_paths=self.fonts,
            ignore_system_fonts=True,
            format="pdf",
            sys_inputs={"data": data.decode()},
            timestamp=timestamp,
            # The setting is an operator's string; Typst refuses an unknown standard at export.
            pdf_standards=cast(Any, [self.pdf_standard] if self.pdf_standard else []),
            pdf_tags=self.pdf_standard is not None,
        )
        log.debug("typst compile", extra={"ms": round(1000 * (time.perf_counter() - started), 1)})
        return pdf

    async def _run(self, data: bytes, timestamp: int) -> bytes:
        async with self.slots:
            return await asyncio.to_thread(self._compile, data, timestamp)

    async def pdf(self, data: bytes, date: dt.date) -> bytes:
        """The PDF of one report view (JSON bytes); the timestamp is the report date, so output is stable."""
        self.waiting.acquire()
        timestamp = int(dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC).timestamp())
        task = asyncio.ensure_future(self._run(data, timestamp))
        task.add_done_callback(self._done)
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.timeout_s)
        except TimeoutError as exc:
            raise RenderTimeout(f"la mise en page a dépassé {self.timeout_s:g} s") from exc
        except typst.TypstError as exc:
            log.error(
                "typst error",
                extra={
                    # not "message": a LogRecord attribute, which `extra` may not overwrite
                    "typst_message": exc.message,
                    "diagnostic": exc.diagnostic,
                    "hints": exc.hints,
                    "trace": exc.trace,
                },
            )
            raise RenderFailed("erreur de mise en page, voir les journaux du service") from exc

    def _done(self, task: asyncio.Future[bytes]) -> None:
        self.waiting.release()
        if (
            not task.cancelled()
            and task.exception() is not None
            and not isinstance(task.exception(), typst.TypstError)
        ):
            log.error("compile failed", exc_info=task.exception())
