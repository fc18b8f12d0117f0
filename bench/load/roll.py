"""Rolling restart under load: the open-loop mix through the kube-play edge while the gateway rolls.

    .venv/bin/python -m bench.load.roll --dsn postgresql://… [--rate 150] [--seconds 60]

Starts `python -m deploy.local.kubeplay roll` 10 s into a bounded open-loop run (≤ 60 s, loopback) and writes
docs/load/kube-roll.json: requests sent, answers by status, errors (anything but 200/204/304, or no answer),
the roll's events (new pod ready, edge reloaded, SIGTERM, stopped) on the schedule's clock, and when each
error and each resend (a keep-alive connection closed before any byte of answer, `openloop`) happened.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import subprocess
import sys
import threading
import time

import numpy as np

from . import mix as mixmod
from . import openloop, report
from .__main__ import OUT, _templates


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.load.roll")
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--target", default="http://127.0.0.1:19180")
    parser.add_argument("--rate", type=float, default=150.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    host, port = args.target.removeprefix("http://").split(":")
    m = asyncio.run(mixmod.build(f"{host}:{port}", args.dsn, _templates(args.target)))
    plan = m.plan(args.rate, min(args.seconds, 60.0), seed=7)
    roll: dict[str, object] = {}

    def do_roll() -> None:
        time.sleep(10)
        started = time.monotonic()
        res = subprocess.run(
            [sys.executable, "-m", "deploy.local.kubeplay", "roll"],
            capture_output=True,
            text=True,
            check=False,
        )
        roll.update(
            seconds=round(time.monotonic() - started, 1), rc=res.returncode, log=res.stdout + res.stderr
        )

    thread = threading.Thread(target=do_roll)
    thread.start()
    origin = time.monotonic() + 0.5  # openloop.execute's start (its lead_s), on the same monotonic clock
    rows = openloop.execute(host, int(port), m.requests, plan, processes=2, max_conns=400, clients=500)
    thread.join()
    step = report.stats(rows, m.requests, args.rate, min(args.seconds, 60.0))
    events = [
        {"t_s": round(float(line.split()[2]) - origin, 3), "event": line.split(None, 3)[3]}
        for line in str(roll.get("log", "")).splitlines()
        if line.startswith("[kube] event ")
    ]
    failed = ~np.isin(rows[:, 2].astype(int), openloop.OK)
    marked = [
        {
            "t_s": round(float(r[0]), 3),
            "latency_ms": round(float(r[1]) * 1000, 1),
            "status": int(r[2]),
            "kind": m.requests[int(r[4])].kind,
            "resent": bool(r[5]),
        }
        for r in rows[failed | (rows[:, 5] > 0)]
    ]
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "what": "gateway Deployment rolled (surge pod ready, old pod out of the Service, preStop, SIGTERM)",
        "roll": roll,
        "events": events,
        "errors_and_resends": marked,
        "step": step,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "kube-roll.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(
        f"[roll] sent {step['sent']}, statuses {step['statuses']}, errors {step['errors']}, "
        f"resent {step['resent']}, p95 {step['p95_ms']} ms; "
        f"roll rc {roll.get('rc')} in {roll.get('seconds')} s"
    )
    print(str(roll.get("log", ""))[-1500:])
    return 0 if step["errors"] == 0 and roll.get("rc") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
