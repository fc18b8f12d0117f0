"""Processes: every service killed (-9) and terminated during traffic under the stack's supervisor; the
database down at start-up and during traffic. Runs last in the session (it stops the test cluster)."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
import uuid

import pytest

from deploy.local.cluster import free_port
from deploy.local.supervisor import Child, Supervisor
from tests.conftest import role_dsn
from tests.reliability.faults import Traffic, ready, wait_until

SELECTION = ["29019", "29075", "29039"]


def _api_requests(gateway: str) -> list[urllib.request.Request]:
    body = json.dumps({"communes": SELECTION}).encode()
    return [
        urllib.request.Request(f"{gateway}/api/v1/communes?q=brest"),
        urllib.request.Request(
            f"{gateway}/api/v1/territory/summary", data=body, headers={"Content-Type": "application/json"}
        ),
        urllib.request.Request(f"{gateway}/tiles/admin/5/15/11.mvt"),
    ]


def _stack_envs(database_url: str, passwords: dict[str, str], test_data_dir) -> tuple[dict[str, dict], str]:
    ports = {m: free_port() for m in ("services.tiles", "services.aggregate", "services.report", "gateway")}
    url = f"http://127.0.0.1:{ports['gateway']}"
    common = {
        **os.environ,
        "REZONE_TILES_PYRAMID_DIR": str(test_data_dir / "tiles"),
        "REZONE_DATA_DIR": str(test_data_dir),
        "REZONE_PUBLIC_URL": url,
        "REZONE_GATEWAY_RATE_PER_S": "100000",
        "REZONE_GATEWAY_RATE_BURST": "100000",
        "REZONE_GATEWAY_PREWARM": "false",
        "REZONE_GATEWAY_BREAKER_RESET_S": "2",
    }
    roles = {
        "services.tiles": "rezone_tiles",
        "services.aggregate": "rezone_aggregate",
        "services.report": "rezone_report",
        "gateway": "rezone_gateway",
    }
    envs = {}
    for module, port in ports.items():
        prefix = "REZONE_GATEWAY_" if module == "gateway" else f"REZONE_{module.split('.')[1].upper()}_"
        envs[module] = {
            **common,
            "DATABASE_URL": role_dsn(database_url, roles[module], passwords[roles[module]]),
            f"{prefix}HOST": "127.0.0.1",
            f"{prefix}PORT": str(port),
            "REZONE_REPORT_AGGREGATE_URL": f"http://127.0.0.1:{ports['services.aggregate']}",
            "REZONE_GATEWAY_TILES_URL": f"http://127.0.0.1:{ports['services.tiles']}",
            "REZONE_GATEWAY_AGGREGATE_URL": f"http://127.0.0.1:{ports['services.aggregate']}",
            "REZONE_GATEWAY_REPORT_URL": f"http://127.0.0.1:{ports['services.report']}",
            "REZONE_GATEWAY_INTERNAL_PORT": str(free_port()),
        }
    return envs, url


def test_each_service_killed_and_terminated_under_the_supervisor(
    database_url, role_passwords, test_data_dir, record
):
    envs, gateway = _stack_envs(database_url, role_passwords, test_data_dir)
    ports = {
        m: int(e[f"REZONE_{'GATEWAY' if m == 'gateway' else m.split('.')[1].upper()}_PORT"])
        for m, e in envs.items()
    }
    children = [
        Child(m, envs[m]) for m in ("services.tiles", "services.aggregate", "services.report", "gateway")
    ]
    lines: list[str] = []
    supervisor = Supervisor(children, log=lines.append, backoff_s=0.5)
    figures: dict[str, dict] = {}
    try:

        def tick_until(check, timeout: float) -> float:
            def step() -> bool:
                supervisor.tick()
                return check()

            return wait_until(step, timeout, 0.2)

        tick_until(lambda: all(ready(f"http://127.0.0.1:{p}") for p in ports.values()), 180)
        for child in children:
            for how in (signal.SIGKILL, signal.SIGTERM):
                url = f"http://127.0.0.1:{ports[child.module]}"
                with Traffic(lambda: _api_requests(gateway), workers=3) as traffic:
                    time.sleep(1.0)
                    assert child.proc is not None
                    child.proc.send_signal(how)
                    back = tick_until(lambda u=url, c=child: c.proc is not None and ready(u), 120)
                    tick_until(lambda: ready(gateway), 60)
                    time.sleep(1.0)
                    supervisor.tick()
                bad = traffic.failures(frozenset({"200", "204", "503"}))
                figures[f"{child.name}:{signal.Signals(how).name}"] = {
                    "back_ready_s": round(back, 1),
                    "statuses": dict(traffic.statuses),
                    "missing_retry_after": traffic.missing_retry_after,
                }
                # The gateway itself killed: its clients see refused connections until it is back.
                if child.name != "gateway":
                    assert bad == {}, (child.name, how, traffic.statuses)
                    assert traffic.missing_retry_after == 0
                    if child.name == "report":  # tiles, search and diagnosis kept serving
                        assert traffic.statuses.get("503", 0) == 0, traffic.statuses
        assert not any(c.given_up for c in children), lines
    finally:
        supervisor.stop_all(timeout_s=30)
    record("service_kills", restarts=sum(c.restarts for c in children), by_service=figures, log=lines)


def test_supervisor_gives_up_on_fast_failures(record):
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x",
        "REZONE_REPORT_PORT": "not-a-port",
    }
    child = Child("services.report", env)
    lines: list[str] = []
    supervisor = Supervisor([child], log=lines.append, backoff_s=0.1, max_fast_failures=4)
    started = time.monotonic()
    wait_until(lambda: (supervisor.tick(), child.given_up)[1], 60, 0.1)
    assert child.restarts == 3 and "giving up" in lines[-1]
    record(
        "supervisor_give_up",
        fast_failures=4,
        seconds=round(time.monotonic() - started, 1),
        last_log=lines[-1],
    )


def test_database_down_at_start_and_during_traffic(
    pg_cluster, run_service, database_url, role_passwords, record
):
    if pg_cluster is None:
        pytest.skip("needs the private test cluster (it is stopped and started)")
    figures: dict[str, object] = {}
    pg_cluster.stop()
    try:
        env = {"REZONE_FAULT": "db-down"}  # a key of its own: new processes, started with the database down
        urls = {m: run_service(m, env, ready=False) for m in ("services.tiles", "services.aggregate")}
        urls["services.report"] = run_service(
            "services.report",
            {**env, **REPORT_QUEUE_ENV, "REZONE_REPORT_AGGREGATE_URL": urls["services.aggregate"]},
            ready=False,
        )
        urls["gateway"] = run_service(
            "gateway",
            {
                **env,
                "REZONE_GATEWAY_PREWARM": "false",
                "REZONE_GATEWAY_RATE_PER_S": "100000",
                "REZONE_GATEWAY_RATE_BURST": "100000",
                "REZONE_GATEWAY_TILES_URL": urls["services.tiles"],
                "REZONE_GATEWAY_AGGREGATE_URL": urls["services.aggregate"],
                "REZONE_GATEWAY_REPORT_URL": urls["services.report"],
                "REZONE_GATEWAY_READY_UPSTREAMS": "tiles,aggregate",
                "REZONE_GATEWAY_OPTIONAL_UPSTREAMS": "",
            },
            ready=False,
        )
        for module, url in urls.items():
            wait_until(lambda u=url: _healthy(u), 60)  # started and answering, the database still down
            assert run_service.process(url).poll() is None, f"{module} exited with the database down"
            assert not ready(url)
        refused = Traffic(lambda: _api_requests(urls["gateway"]), workers=2)
        with refused:
            time.sleep(3.0)
        assert set(refused.statuses) <= {"503"} and refused.missing_retry_after == 0, refused.statuses
        figures["down_at_start_statuses"] = dict(refused.statuses)
        report_refused = Traffic(lambda: _report_requests(urls["services.report"]), workers=2)
        with report_refused:
            time.sleep(3.0)
        assert set(report_refused.statuses) == {"503"}, report_refused.statuses
        assert report_refused.missing_retry_after == 0
        figures["report_down_at_start_statuses"] = dict(report_refused.statuses)
    finally:
        pg_cluster.start()
    back_at = time.monotonic()
    # Seconds from PostgreSQL back (its start returns once it accepts connections) to each service ready.
    to_ready: dict[str, float] = {}
    for m, u in urls.items():
        wait_until(lambda u=u: ready(u), 60)
        to_ready[m] = round(time.monotonic() - back_at, 2)
    figures["seconds_to_ready_after_db_start"] = to_ready
    # The report's queue worker came back too (its restarts back off, capped): a batch submitted now is made.
    started = time.monotonic()
    made = _batch_made(urls["services.report"], timeout=180)
    figures["report_batch_after_db_start"] = {
        **made,
        "seconds_from_ready": round(time.monotonic() - started, 1),
    }
    with Traffic(lambda: _api_requests(urls["gateway"]), workers=3) as traffic:
        time.sleep(2.0)
        pg_cluster.stop()
        time.sleep(10.0)
        pg_cluster.start()
        back = wait_until(lambda: ready(urls["gateway"]) and ready(urls["services.aggregate"]), 60)
        time.sleep(2.0)
    assert traffic.failures(frozenset({"200", "204", "503", "304"})) == {}, traffic.statuses
    assert traffic.missing_retry_after == 0
    started = time.monotonic()
    made = _batch_made(urls["services.report"], timeout=180)  # the worker survived the outage as well
    figures["report_batch_after_outage"] = {**made, "seconds": round(time.monotonic() - started, 1)}
    figures.update(
        outage_s=10, during_traffic_statuses=dict(traffic.statuses), ready_after_restart_s=round(back, 2)
    )
    record("database_down", **figures)


# Fast queue polling and heartbeats (as in tests/report/test_batch.py), one report at a time.
REPORT_QUEUE_ENV = {
    "REZONE_REPORT_HEARTBEAT_S": "1",
    "REZONE_REPORT_STALLED_AFTER_S": "4",
    "REZONE_REPORT_MAINTENANCE_S": "1",
    "REZONE_REPORT_POLL_S": "1",
    "REZONE_REPORT_BATCH_CONCURRENCY": "1",
}


def _report_requests(report: str) -> list[urllib.request.Request]:
    """The report service's own routes that need the database: a batch submitted, a batch polled, a PDF."""
    body = json.dumps({"communes": SELECTION}).encode()
    headers = {"Content-Type": "application/json"}
    return [
        urllib.request.Request(
            f"{report}/v1/reports",
            data=json.dumps({"reports": [{"communes": SELECTION}]}).encode(),
            headers=headers,
        ),
        urllib.request.Request(f"{report}/v1/reports/{uuid.uuid4()}"),
        urllib.request.Request(f"{report}/v1/report.pdf", data=body, headers=headers),
    ]


def _batch_made(report: str, timeout: float) -> dict[str, object]:
    """Submit a one-report batch and poll it until its PDF is made (the queue worker took it)."""
    req = urllib.request.Request(
        f"{report}/v1/reports",
        data=json.dumps({"reports": [{"communes": ["04181"]}]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 202
        job = json.loads(r.read())["job"]
    state: dict = {}

    def done() -> bool:
        nonlocal state
        with urllib.request.urlopen(f"{report}/v1/reports/{job}", timeout=30) as r:
            state = json.loads(r.read())
        return state["state"] == "done"

    wait_until(done, timeout, 0.5)
    assert [i["state"] for i in state["items"]] == ["ready"], state
    return {"items": len(state["items"]), "bytes": state["items"][0]["bytes"]}


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False
