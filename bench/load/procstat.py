"""CPU time by process group, from /proc: which part of the topology (or of the machine) used the cores.

Groups: the containers of `make prod-up` by service (read from each process's cgroup, which names its
container), the processes of `make run`'s stack (descendants of its supervisor and of its PostgreSQL), the
load generator, the container runtime, and everything else on the machine ("other": other developers'
work on this shared machine).

What makes the shares add up to the machine's busy time:
- A container is counted from its cgroup's CPU counter (cgroup v1 `cpuacct.usage`, v2 `cpu.stat`), which
  keeps the time of its processes that have exited (PostgreSQL backends, nginx workers after a reload);
  summing the live processes of /proc lost that time, and the container groups came out short.
- Time the kernel spends in interrupts and softirqs (loopback packets are delivered there) belongs to no
  process: it is its own group, read from /proc/stat.
- "other (rest of the machine)" is the residual: the machine's busy time minus every group above. It holds
  the other developers' work, short-lived processes included (a snapshot of /proc misses those); the part
  of it seen in live processes is reported too ("other, seen alive"), as its lower bound.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from deploy.local import podman

TICK = os.sysconf("SC_CLK_TCK")
CONTAINER_ID = re.compile(r"libpod-(?:conmon-)?([0-9a-f]{64})")
CGROUP_ROOT = Path("/sys/fs/cgroup")
KERNEL = "kernel (interrupts, softirq)"
OTHER = "other (rest of the machine)"
OTHER_SEEN = "other, seen alive"


def _cgroup_cpu_s(pid: int) -> tuple[str, float] | None:
    """(cgroup path, CPU seconds of everything that ever ran in it) for the container cgroup of `pid`."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "libpod-" not in path or "conmon" in path:
            continue
        try:
            if "cpuacct" in controllers.split(","):  # cgroup v1
                ns = int((CGROUP_ROOT / "cpuacct" / path.lstrip("/") / "cpuacct.usage").read_text())
                return path, ns / 1e9
            if controllers == "":  # cgroup v2
                stat = (CGROUP_ROOT / path.lstrip("/") / "cpu.stat").read_text()
                usec = int(stat.split("usage_usec", 1)[1].split()[0])
                return path, usec / 1e6
        except (FileNotFoundError, ValueError, IndexError, PermissionError):
            continue
    return None


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
        self.container_groups = {self._base(name) for name in self.container_names.values()}

    @staticmethod
    def _containers() -> dict[str, str]:
        try:
            found = podman.containers("prod") + podman.containers("kube")
        except (RuntimeError, FileNotFoundError, json.JSONDecodeError):
            return {}
        return {str(c["Id"]): ", ".join(c.get("Names", [])) for c in found}

    @staticmethod
    def _base(name: str) -> str:
        base = re.sub(r"^rezone-(prod|kube)-|-\d+$", "", name)
        return {"postgres": "postgresql"}.get(base, base)

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
                return self._base(name)
        if any(c in self.stack_roots for c in chain):
            return _service_of(_cmdline(pid))
        cmd = _cmdline(pid)
        if cmd.startswith(("conmon", "/usr/bin/conmon", "runc", "podman", "/usr/bin/podman")):
            return "container runtime"
        return OTHER

    def snapshot(self) -> dict[str, float]:
        """CPU seconds so far by group, plus the machine's busy, kernel-interrupt and total seconds."""
        stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(int(p))) is not None}
        ppid_of = {pid: s[0] for pid, s in stats.items()}
        out: dict[str, float] = {}
        cgroups: dict[str, tuple[str, float]] = {}
        for pid, (_, cpu) in stats.items():
            group = self._group(pid, ppid_of)
            if group not in ("load generator", "container runtime", OTHER) and group in self.container_groups:
                found = _cgroup_cpu_s(pid)
                if found is not None:  # the container's counter, exited processes included
                    cgroups[found[0]] = (group, found[1])
                    continue
            out[group] = out.get(group, 0.0) + cpu
        for group, cpu in cgroups.values():
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
        out["_kernel_irq"] = (fields[5] + fields[6]) / TICK
        out["_steal"] = fields[7] / TICK
        return out


def share(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Each group's share of the machine's CPU capacity (all cores) between two snapshots, in %.

    The groups add up to "machine busy": "other (rest of the machine)" is the residual (see the module doc).
    """
    total = after["_machine_total"] - before["_machine_total"]
    if total <= 0:
        return {}

    def pct(seconds: float) -> float:
        return round(100 * max(0.0, seconds) / total, 2)

    busy = after["_machine_busy"] - before["_machine_busy"]
    deltas = {g: after[g] - before.get(g, 0.0) for g in after if not g.startswith("_") and g != OTHER}
    deltas = {g: d for g, d in deltas.items() if d > 0}
    deltas[KERNEL] = after["_kernel_irq"] - before["_kernel_irq"]
    out = {g: pct(d) for g, d in deltas.items()}
    out[OTHER] = pct(busy - sum(deltas.values()))
    out = dict(sorted(out.items(), key=lambda kv: -kv[1]))
    out[OTHER_SEEN] = pct(after.get(OTHER, 0.0) - before.get(OTHER, 0.0))
    out["steal (hypervisor)"] = pct(after["_steal"] - before["_steal"])
    out["machine busy"] = pct(busy)
    return out


def loadavg() -> tuple[float, float, float]:
    """1, 5, 15-minute load averages."""
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)
