"""A small process supervisor for the local stack, with the policy of a real one (systemd's
Restart=on-failure with StartLimitBurst, Kubernetes' CrashLoopBackOff): a child that dies is restarted after
a delay that doubles with each consecutive fast failure, up to a cap; after `max_fast_failures` fast failures
in a row it is given up on and the rest of the stack keeps serving. A child that ran longer than `fast_s`
starts the count again.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Child:
    """One supervised service process (`python -m module`) with a fixed environment (so a fixed port)."""

    def __init__(self, module: str, env: dict[str, str]) -> None:
        self.module, self.env = module, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.fast_failures = 0
        self.restarts = 0
        self.next_start = 0.0
        self.given_up = False

    @property
    def name(self) -> str:
        """Short name for the log (tiles, aggregate, report, gateway)."""
        return self.module.rsplit(".", 1)[-1]

    def start(self, now: float) -> None:
        """Spawn the process."""
        self.proc = subprocess.Popen([sys.executable, "-m", self.module], cwd=ROOT, env=self.env)
        self.started_at = now


class Supervisor:
    """Restart policy over a list of children; `tick()` is called by the stack's main loop."""

    def __init__(
        self,
        children: list[Child],
        *,
        log: Callable[[str], None],
        fast_s: float = 10.0,
        max_fast_failures: int = 5,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children, self.log, self.clock = children, log, clock
        self.fast_s, self.max_fast_failures = fast_s, max_fast_failures
        self.backoff_s, self.backoff_max_s = backoff_s, backoff_max_s

    def tick(self) -> None:
        """Start what is due, notice what died and schedule its restart (or give up on it)."""
        now = self.clock()
        for child in self.children:
            if child.given_up:
                continue
            if child.proc is None:
                if now >= child.next_start:
                    child.start(now)
                continue
            code = child.proc.poll()
            if code is None:
                continue
            ran = now - child.started_at
            child.proc = None
            child.fast_failures = child.fast_failures + 1 if ran < self.fast_s else 1
            if child.fast_failures >= self.max_fast_failures:
                child.given_up = True
                self.log(
                    f"{child.name} exited with code {code} after {ran:.1f}s, its {child.fast_failures}th "
                    f"failure within {self.fast_s:.0f}s of starting in a row: giving up on it "
                    "(the other services keep serving; fix it and restart the stack)"
                )
                continue
            delay = min(self.backoff_max_s, self.backoff_s * 2 ** (child.fast_failures - 1))
            child.next_start = now + delay
            child.restarts += 1
            self.log(f"{child.name} exited with code {code} after {ran:.1f}s; restarting in {delay:.1f}s")

    def gave_up(self, name: str) -> bool:
        """Whether the child called `name` was given up on."""
        return any(c.given_up for c in self.children if c.name == name)

    def stop_all(self, timeout_s: float = 40.0) -> None:
        """SIGTERM in reverse order (the gateway first), wait, then SIGKILL what lingers."""
        for child in reversed(self.children):
            if child.proc is not None and child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
                try:
                    child.proc.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    child.proc.kill()
