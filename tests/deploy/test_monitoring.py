"""The operations kit (deploy/monitoring/): promtool accepts every rule and dashboard query, and every metric
they name is either in a real scrape of our processes or one of the few documented third-party metrics
(CloudNativePG and its Barman Cloud plugin, which need a cluster to scrape)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from deploy.local.cluster import free_port

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
RULES = yaml.safe_load((MONITORING / "rules.yaml").read_text())
DASHBOARD = json.loads((MONITORING / "dashboard.json").read_text())
# Metrics we cannot scrape without a Kubernetes cluster, with where each is defined.
THIRD_PARTY = {
    "cnpg_pg_replication_lag": "CloudNativePG default monitoring queries (pg_replication.lag, seconds)",
    "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp": "Barman Cloud plugin, Observability",
    "barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp": "Barman Cloud plugin, Observability",
}
# Grafana's interval macro, replaced by a window promtool accepts.
GRAFANA_MACROS = {"$__rate_interval": "5m"}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
    "inf", "nan",
}  # fmt: skip


def dashboard_exprs() -> list[str]:
    exprs = [t["expr"] for p in DASHBOARD["panels"] for t in p["targets"]]
    for macro, value in GRAFANA_MACROS.items():
        exprs = [e.replace(macro, value) for e in exprs]
    return exprs


def rule_exprs() -> list[str]:
    return [r["expr"] for g in RULES["spec"]["groups"] for r in g["rules"]]


def metric_names(expr: str) -> set[str]:
    """The series names an expression selects (matchers, strings, grouping clauses, functions dropped)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in PROMQL_WORDS:
            continue
        names.add(name)
    return names


def test_the_rules_and_dashboard_queries_pass_promtool(tmp_path: Path) -> None:
    """`promtool check rules` on the PrometheusRule's groups, and on the dashboard's queries as rules."""
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": RULES["spec"]["groups"]}))
    dashboard = tmp_path / "dashboard.yml"
    dashboard.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "dashboard",
                        "rules": [
                            {"record": f"dashboard:query_{i}", "expr": e}
                            for i, e in enumerate(dashboard_exprs())
                        ],
                    }
                ]
            }
        )
    )
    for path in (rules, dashboard):
        res = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr


def test_promtool_refuses_a_broken_rule(tmp_path: Path) -> None:
    """The check above can fail: an unbalanced expression is refused."""
    path = tmp_path / "bad.yml"
    path.write_text(
        yaml.safe_dump({"groups": [{"name": "x", "rules": [{"alert": "X", "expr": "sum(rate(a[5m])"}]}]})
    )
    assert subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True).returncode != 0


def test_the_alerts_cover_the_objectives() -> None:
    alerts = {r["alert"]: r for g in RULES["spec"]["groups"] for r in g["rules"] if "alert" in r}
    exprs = " ".join(r["expr"] for r in alerts.values())
    for needed in ("http_errors", "_slow:", "db_pool:saturation", "replication_lag", "backup_timestamp"):
        assert needed in exprs, f"no alert on {needed}"
    assert all(r["labels"]["severity"] in ("page", "ticket") for r in alerts.values())
    assert metric_names('sum by (a) (rate(x_total{s=~"5.."}[5m])) / on(b) y and time() - z') == {
        "x_total",
        "y",
        "z",
    }


def _scrape(url: str) -> set[str]:
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names.add(name)
            if kind == "counter":
                names.add(name + "_total")
            if kind == "histogram":
                names |= {name + "_bucket", name + "_count", name + "_sum"}
    return names


@pytest.fixture(scope="module")
def scraped(run_service) -> set[str]:
    """The metric names of a real scrape of tiles, aggregate, report, gateway and the nginx exporter."""
    from tests.gateway.conftest import BASE_ENV

    tiles = run_service("services.tiles")
    aggregate = run_service("services.aggregate")
    report = run_service("services.report", {"REZONE_REPORT_AGGREGATE_URL": aggregate})
    gateway = run_service(
        "gateway",
        {
            **BASE_ENV,
            "REZONE_GATEWAY_TILES_URL": tiles,
            "REZONE_GATEWAY_AGGREGATE_URL": aggregate,
            "REZONE_GATEWAY_REPORT_URL": report,
        },
    )
    # One answered request per service, so that labelled series exist as well as their declarations.
    for url in (f"{gateway}/api/v1/communes?q=brest", f"{tiles}/healthz", f"{aggregate}/healthz"):
        urllib.request.urlopen(url, timeout=10).close()
    names = set()
    for url in (tiles, aggregate, report, run_service.internal(gateway)):
        names |= _scrape(f"{url}/metrics")
    port = free_port()
    exporter = subprocess.Popen(
        [sys.executable, "-m", "services.common.nginx_exporter"],
        env={
            "PATH": "/usr/bin:/bin",
            "REZONE_NGINX_EXPORTER_PORT": str(port),
            "REZONE_NGINX_EXPORTER_SYSLOG_PORT": str(free_port()),
            "REZONE_NGINX_EXPORTER_STATUS_URL": f"http://127.0.0.1:{free_port()}/stub_status",
        },
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                names |= _scrape(f"http://127.0.0.1:{port}/metrics")
                break
            except OSError:
                assert time.monotonic() < deadline and exporter.poll() is None, "nginx exporter did not start"
                time.sleep(0.3)
    finally:
        exporter.terminate()
        exporter.wait(timeout=10)
    return names


def test_every_metric_named_exists_in_a_scrape(scraped: set[str]) -> None:
    recorded = {r["record"] for g in RULES["spec"]["groups"] for r in g["rules"] if "record" in r}
    named: dict[str, str] = {}
    for expr in rule_exprs() + dashboard_exprs():
        for name in metric_names(expr):
            named.setdefault(name, expr)
    assert len(named) >= 15
    missing = {
        n: e for n, e in named.items() if n not in scraped and n not in recorded and n not in THIRD_PARTY
    }
    assert not missing, f"metrics in no scrape: {missing}"
    # The scrape is real: process collectors are on every registry, pool gauges on the database services'.
    assert {
        "process_cpu_seconds_total",
        "db_pool_connections",
        "nginx_up",
        "report_renders_waiting",
    } <= scraped
