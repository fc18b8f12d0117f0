"""Step statistics, the JSON result and the plots of a load run (docs/load/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .openloop import CACHE_NAMES, OK, Request

SLO_P95_S = 0.100
SLO_ERRORS = 0.001


def pct(values: np.ndarray, p: float) -> float:
    """Percentile in milliseconds (nan when empty)."""
    return round(float(np.percentile(values, p)) * 1000, 2) if len(values) else float("nan")


def stats(rows: np.ndarray, requests: list[Request], rate: float, seconds: float) -> dict:
    """Summary of one step: throughput, latency percentiles, errors, cache hit ratios, by kind."""
    kinds = np.array([requests[int(i)].kind for i in rows[:, 4]]) if len(rows) else np.array([])
    status = rows[:, 2].astype(int)
    ok = np.isin(status, OK)
    lat = rows[:, 1]
    out: dict = {
        "offered_rps": rate,
        "seconds": seconds,
        "sent": int(len(rows)),
        "completed_rps": round(len(rows) / seconds, 1) if seconds else 0.0,
        "ok_rps": round(int(ok.sum()) / seconds, 1) if seconds else 0.0,
        "p50_ms": pct(lat, 50),
        "p95_ms": pct(lat, 95),
        "p99_ms": pct(lat, 99),
        "max_ms": pct(lat, 100),
        "errors": int((~ok).sum()),
        "error_ratio": round(float((~ok).mean()), 5) if len(rows) else 0.0,
        "statuses": {str(s): int((status == s).sum()) for s in np.unique(status)},
        # Resent once on a new connection after a keep-alive connection closed before any byte of answer.
        "resent": int(rows[:, 5].sum()) if len(rows) else 0,
        "by_kind": {},
    }
    for kind in sorted(set(kinds.tolist())):
        sel = kinds == kind
        entry = {
            "count": int(sel.sum()),
            "p50_ms": pct(lat[sel], 50),
            "p95_ms": pct(lat[sel], 95),
            "p99_ms": pct(lat[sel], 99),
            "errors": int((~ok[sel]).sum()),
            "statuses": {str(s): int((status[sel] == s).sum()) for s in np.unique(status[sel])},
            "resent": int(rows[sel, 5].sum()),
        }
        caches = rows[sel, 3].astype(int)
        if (caches > 0).any():
            seen = {CACHE_NAMES[c]: int((caches == c).sum()) for c in np.unique(caches) if c > 0}
            entry["cache"] = seen
            entry["hit_ratio"] = round(seen.get("HIT", 0) / max(1, sum(seen.values())), 4)
        out["by_kind"][kind] = entry
    out["passed"] = bool(out["p95_ms"] <= SLO_P95_S * 1000 and out["error_ratio"] < SLO_ERRORS)
    return out


def per_second(rows: np.ndarray) -> dict[str, list[float]]:
    """Latency percentiles and throughput for each second of scheduled time."""
    if not len(rows):
        return {"t": [], "rps": [], "p50": [], "p95": [], "p99": [], "errors": []}
    sec = rows[:, 0].astype(int)
    out: dict[str, list[float]] = {"t": [], "rps": [], "p50": [], "p95": [], "p99": [], "errors": []}
    for s in range(int(sec.max()) + 1):
        sel = rows[sec == s]
        if not len(sel):
            continue
        out["t"].append(s)
        out["rps"].append(len(sel))
        out["errors"].append(int((~np.isin(sel[:, 2].astype(int), OK)).sum()))
        for p in (50, 95, 99):
            out[f"p{p}"].append(pct(sel[:, 1], p))
    return out


def plot(series: dict[str, list[float]], title: str, path: Path, ramp: list[dict] | None = None) -> None:
    """Latency over time (p50/p95/p99, log scale, SLO line) and throughput, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    t = np.array(series["t"])
    for p, color in (("p50", "#4c72b0"), ("p95", "#dd8452"), ("p99", "#c44e52")):
        ax1.plot(t, series[p], label=p, color=color, linewidth=1)
    ax1.axhline(SLO_P95_S * 1000, color="black", linestyle="--", linewidth=0.8, label="objectif p95 100 ms")
    ax1.set_yscale("log")
    ax1.set_ylabel("latence (ms, depuis l'heure d'envoi prévue)")
    ax1.legend(loc="upper left", fontsize=8)
    ax1.grid(True, which="both", alpha=0.3)
    ax1.set_title(title)
    ax2.plot(t, series["rps"], color="#55a868", linewidth=1, label="requêtes/s (par seconde prévue)")
    if any(series["errors"]):
        ax2.bar(t, series["errors"], color="#c44e52", label="erreurs/s")
    ax2.set_ylabel("requêtes/s")
    ax2.set_xlabel("temps (s)")
    ax2.grid(True, alpha=0.3)
    ax2.legend(loc="upper left", fontsize=8)
    if ramp:
        for step in ramp:
            ax2.axvline(step["t0"], color="grey", linewidth=0.5, alpha=0.5)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
