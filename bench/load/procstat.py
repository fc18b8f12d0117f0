"""CPU time by process group, from /proc: which part of the topology (or of the machine) used the cores.

Groups: the containers of `make prod-up` by service (read from each process's cgroup, which names its
container), the processes of `make run`'s stack (descendants of its supervisor and of its PostgreSQL), the
load generator, the container runtime, and everything else on the machine ("other": other developers'
work on this shared machine).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from deploy.local import podman

TICK = os.sysconf("SC_CLK_TCK")
CONTAINER_ID = re.compile(r"libpod-(?:conmon-)?([0-9a-f]{64})")


def _stat(pid: int) -> tuple[int, float] | None:
    """(ppid, user+system CPU seconds) of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def _service_of(cmd: str) -> str:
    for needle, name in (
        ("-m gateway", "gateway"),
        ("services.tiles", "tiles"),
        ("services.aggregate", "aggregate"),
        ("services.report", "report"),
        ("nginx_exporter", "nginx-exporter"),
        ("deploy.local.stack", "stack supervisor"),
        ("postgres", "postgresql"),
        ("nginx", "nginx"),
        ("pgbouncer", "pgbouncer"),
        ("redis-server", "redis"),
    ):
        if needle in cmd:
            return name
    return "other (stack)"


class Sampler:
    """Snapshots of CPU seconds per group; `share(a, b)` is each group's share of the machine between two."""

    def __init__(self, generator_pids: set[int], stack_roots: set[int]) -> None:
        self.generator_pids = generator_pids
        self.stack_roots = stack_roots
        self.container_names = self._containers()

    @staticmethod
    def _containers() -> dict[str, str]:
        try:
            found = podman.containers("prod") + podman.containers("kube")
        except (RuntimeError, FileNotFoundError, json.JSONDecodeError):
            return {}
        return {str(c["Id"]): ", ".join(c.get("Names", [])) for c in found}

    def _group(self, pid: int, ppid_of: dict[int, int]) -> str:
        chain, p = [], pid
        while p > 1 and len(chain) < 64:
            chain.append(p)
            p = ppid_of.get(p, 0)
        if any(c in self.generator_pids for c in chain):
            return "load generator"
        try:
            cgroup = Path(f"/proc/{pid}/cgroup").read_text()
        except (FileNotFoundError, ProcessLookupError):
            cgroup = ""
        if m := CONTAINER_ID.search(cgroup):
            name = self.container_names.get(m.group(1))
            if name:
                if "conmon" in cgroup and "libpod-conmon" in cgroup:
                    return "container runtime"
                base = re.sub(r"^rezone-(prod|kube)-|-\d+$", "", name)
                return {"postgres": "postgresql", "nginx-exporter": "nginx-exporter"}.get(base, base)
        if any(c in self.stack_roots for c in chain):
            return _service_of(_cmdline(pid))
        cmd = _cmdline(pid)
        if cmd.startswith(("conmon", "/usr/bin/conmon", "runc", "podman", "/usr/bin/podman")):
            return "container runtime"
        return "other (rest of the machine)"

    def snapshot(self) -> dict[str, float]:
        """CPU seconds so far by group (processes alive now), plus the machine's busy and total seconds."""
        stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(int(p))) is not None}
        ppid_of = {pid: s[0] for pid, s in stats.items()}
        out: dict[str, float] = {}
        for pid, (_, cpu) in stats.items():
            group = self._group(pid, ppid_of)
            out[group] = out.get(group, 0.0) + cpu
        for pid in self.generator_pids:  # generator processes of finished steps, once waited for
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out["load generator"] = (
                out.get("load generator", 0.0) + (int(fields[13]) + int(fields[14])) / TICK
            )
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        out["_machine_busy"] = (sum(fields[:8]) - idle) / TICK
        out["_machine_total"] = sum(fields[:8]) / TICK
        return out


def share(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Each group's share of the machine's CPU capacity (all cores) between two snapshots, in %."""
    total = after["_machine_total"] - before["_machine_total"]
    if total <= 0:
        return {}
    out = {
        g: round(100 * max(0.0, after[g] - before.get(g, 0.0)) / total, 2)
        for g in after
        if not g.startswith("_") and after[g] - before.get(g, 0.0) > 0
    }
    out["machine busy"] = round(100 * (after["_machine_busy"] - before["_machine_busy"]) / total, 2)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def loadavg() -> tuple[float, float, float]:
    """1, 5, 15-minute load averages."""
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)
