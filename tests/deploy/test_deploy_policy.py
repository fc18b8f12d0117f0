"""Policy rules on the rendered manifests (operations.md §6.7 item 29 and the table of §1.5), per overlay."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from deploy_checks import (
    DIGEST,
    LONG_RUNNING,
    PLACEHOLDER_DIGEST,
    by_kind,
    db_host,
    env_of,
    matches,
    named,
    pods,
    seconds,
    secret_of,
    settings_prefix,
)

PROJECT_IMAGE = re.compile(r"/rezone@")
POOLER_SHARE = 0.8
# aiohttp serves with one event loop per process and the services run one process per pod (`python -m …`);
# the report's Typst workers hold no database connection.
PROCESSES_PER_POD = 1
RESERVED_CONNECTIONS = (
    3 + 10
)  # superuser_reserved_connections + replication, operator, loader and psql headroom
MIN_REPLICAS = {"tiles": 3}


def _quantity(value: str | int) -> float:
    """Bytes or cores of a Kubernetes quantity."""
    text = str(value)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    for unit, factor in units.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def _hpa_for(objs: list[dict], deployment: str) -> dict | None:
    found = [
        h
        for h in by_kind(objs, "HorizontalPodAutoscaler")
        if h["spec"]["scaleTargetRef"]["name"] == deployment
    ]
    assert len(found) <= 1
    return found[0] if found else None


def test_every_container_has_requests_and_a_memory_limit(objs: list[dict]) -> None:
    for pod in pods(objs):
        for c in pod.containers:
            res = c.get("resources", {})
            requests, limits = res.get("requests", {}), res.get("limits", {})
            assert {"cpu", "memory"} <= requests.keys(), f"{pod.ref}/{c['name']}: requests {requests}"
            assert "memory" in limits, f"{pod.ref}/{c['name']}: no memory limit"
            ratio = _quantity(limits["memory"]) / _quantity(requests["memory"])
            assert 1 <= ratio <= 2, f"{pod.ref}/{c['name']}: memory limit is {ratio:.1f}x the request"


def test_long_running_containers_have_distinct_probes_without_dependency_checks(objs: list[dict]) -> None:
    for pod in pods(objs):
        if pod.kind not in LONG_RUNNING:
            continue
        for c in pod.containers:
            where = f"{pod.ref}/{c['name']}"
            live, ready = c.get("livenessProbe"), c.get("readinessProbe")
            assert live and ready, f"{where}: liveness and readiness probes required"
            # Liveness restarts the container: it must never depend on the database or run a command.
            assert "exec" not in live, f"{where}: exec liveness probe"
            if "httpGet" in live and "httpGet" in ready:
                assert live["httpGet"]["path"] != ready["httpGet"]["path"], (
                    f"{where}: same liveness/readiness path"
                )
            for probe in (live, ready, c.get("startupProbe") or {}):
                command = " ".join(probe.get("exec", {}).get("command", []))
                assert not re.search(r"psql|pg_isready|DATABASE_URL", command), (
                    f"{where}: probe checks the DB"
                )


def test_security_context_everywhere(objs: list[dict]) -> None:
    for pod in pods(objs):
        spec = pod.spec
        assert spec.get("automountServiceAccountToken") is False, f"{pod.ref}: service account token mounted"
        assert spec.get("serviceAccountName") not in (None, "default"), f"{pod.ref}: default service account"
        psc = spec.get("securityContext", {})
        assert psc.get("runAsNonRoot") is True, pod.ref
        assert isinstance(psc.get("runAsUser"), int) and psc["runAsUser"] > 0, (
            f"{pod.ref}: fixed non-root uid"
        )
        assert psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", pod.ref
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC"), pod.ref
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for v in volumes.values():
            assert "hostPath" not in v, f"{pod.ref}: hostPath volume {v['name']}"
            if "emptyDir" in v:
                assert v["emptyDir"].get("sizeLimit"), f"{pod.ref}: emptyDir {v['name']} without sizeLimit"
        for c in pod.containers:
            where = f"{pod.ref}/{c['name']}"
            sc = c.get("securityContext", {})
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert not sc.get("privileged"), where
            assert "ALL" in sc.get("capabilities", {}).get("drop", []), where
            assert not sc.get("capabilities", {}).get("add"), where
            tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            assert tmp and "emptyDir" in volumes[tmp[0]["name"]], f"{where}: /tmp is not an emptyDir"


def test_images_are_pinned_by_digest(objs: list[dict]) -> None:
    images = [(pod.ref, c["image"]) for pod in pods(objs) for c in pod.containers]
    assert images
    for ref, image in images:
        assert DIGEST.match(image), f"{ref}: image {image} not pinned by digest"
        assert ":latest" not in image, f"{ref}: {image}"
        # The all-zero digest stands for the project's image until the release job writes the built one;
        # a third-party image always carries its real digest.
        if image.endswith(PLACEHOLDER_DIGEST):
            assert PROJECT_IMAGE.search(image), f"{ref}: placeholder digest on a third-party image {image}"


def test_replicated_deployments_have_a_pdb_and_sane_hpa(objs: list[dict]) -> None:
    pdbs = by_kind(objs, "PodDisruptionBudget")
    for pod in pods(objs):
        if pod.kind != "Deployment":
            continue
        hpa = _hpa_for(objs, pod.name)
        replicas = pod.workload["spec"].get("replicas", 1)
        if hpa:
            # The HPA owns the count: a `replicas` field would be reset on every apply.
            assert "replicas" not in pod.workload["spec"], f"{pod.ref}: replicas set beside an HPA"
            spec = hpa["spec"]
            assert spec["minReplicas"] >= MIN_REPLICAS.get(pod.name, 2), (
                f"{pod.ref}: minReplicas {spec['minReplicas']}"
            )
            assert spec["maxReplicas"] >= spec["minReplicas"]
            behavior = spec.get("behavior", {})
            assert "stabilizationWindowSeconds" in behavior.get("scaleUp", {}), (
                f"{pod.ref}: no scaleUp behavior"
            )
            assert "stabilizationWindowSeconds" in behavior.get("scaleDown", {}), (
                f"{pod.ref}: no scaleDown behavior"
            )
        if hpa or replicas >= 2:
            covering = [p for p in pdbs if matches(p["spec"]["selector"], pod.labels)]
            assert len(covering) == 1, f"{pod.ref}: {len(covering)} PDBs"
            assert covering[0]["spec"].get("maxUnavailable") == 1, f"{pod.ref}: PDB must be maxUnavailable 1"
            spread = pod.spec.get("topologySpreadConstraints", [])
            assert any(t["topologyKey"] == "kubernetes.io/hostname" for t in spread), (
                f"{pod.ref}: no host spread"
            )
            strategy = pod.workload["spec"].get("strategy", {})
            assert strategy.get("rollingUpdate", {}).get("maxUnavailable") == 0, (
                f"{pod.ref}: rollout drops pods"
            )


def test_termination_grace_covers_prestop_and_shutdown(objs: list[dict]) -> None:
    for pod in pods(objs):
        if pod.kind not in LONG_RUNNING:
            continue
        grace = pod.spec.get("terminationGracePeriodSeconds", 30)
        for c in pod.containers:
            env = env_of(objs, c)
            prefix = settings_prefix(env)
            pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
            shutdown = 0.0
            if prefix:
                # Our services: an explicit shutdown_timeout, and a preStop pause so that endpoints are
                # withdrawn before SIGTERM (kubernetes/kubernetes#67592).
                assert f"{prefix}SHUTDOWN_TIMEOUT_S" in env, f"{pod.ref}: shutdown timeout not set explicitly"
                shutdown = seconds(env[f"{prefix}SHUTDOWN_TIMEOUT_S"])
                assert pre_stop >= 5, f"{pod.ref}: preStop sleep {pre_stop}s"
            needed = pre_stop + shutdown + 5
            assert grace >= needed, (
                f"{pod.ref}: grace {grace}s < preStop {pre_stop} + shutdown {shutdown} + 5"
            )


def test_namespace_default_deny_and_every_pod_has_an_allow_list(objs: list[dict]) -> None:
    policies = by_kind(objs, "NetworkPolicy")
    deny = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {}
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny, "no namespace default-deny NetworkPolicy"
    for pod in pods(objs):
        own = [
            p
            for p in policies
            if p["spec"]["podSelector"] != {} and matches(p["spec"]["podSelector"], pod.labels)
        ]
        assert own, f"{pod.ref}: no NetworkPolicy of its own (it can reach nothing but DNS)"


def _egress_rules(objs: list[dict], labels: dict[str, str]) -> list[dict]:
    return [
        rule
        for p in by_kind(objs, "NetworkPolicy")
        if "Egress" in p["spec"].get("policyTypes", []) and matches(p["spec"]["podSelector"], labels)
        for rule in p["spec"].get("egress", [])
    ]


def test_report_pods_reach_only_dns_the_pooler_and_aggregate(objs: list[dict]) -> None:
    """The report renders untrusted text: no internet, no ipBlock, no open port (OWASP API7); besides DNS,
    the Pooler and the aggregate service, only the primary, for the batch queue."""
    report = named(objs, "Deployment", "report")["spec"]["template"]["metadata"]["labels"]
    allowed = [
        ({"kubernetes.io/metadata.name": "kube-system"}, {"k8s-app": "kube-dns"}, {53}),
        (None, {"cnpg.io/poolerName": "rezone-db-pooler-ro"}, {5432}),
        (None, {"cnpg.io/cluster": "rezone-db", "cnpg.io/instanceRole": "primary"}, {5432}),
        (None, {"app.kubernetes.io/name": "aggregate"}, {8082}),
    ]
    rules = _egress_rules(objs, report)
    assert rules
    for rule in rules:
        assert rule.get("to"), f"report egress rule open to every destination: {rule}"
        ports = {p["port"] for p in rule.get("ports", [])}
        assert ports, f"report egress rule open on every port: {rule}"
        for peer in rule["to"]:
            assert "ipBlock" not in peer, f"report egress to an address block: {peer}"
            ns = (peer.get("namespaceSelector") or {}).get("matchLabels")
            pod_labels = (peer.get("podSelector") or {}).get("matchLabels")
            assert any(
                ns == a_ns and pod_labels == a_pod and ports <= a_ports for a_ns, a_pod, a_ports in allowed
            ), f"report egress to {peer} on {ports} is not allowed"


def test_cnpg_cluster_and_pooler_invariants(objs: list[dict]) -> None:
    clusters = {c["metadata"]["name"]: c for c in by_kind(objs, "Cluster")}
    assert clusters
    for cluster in clusters.values():
        assert cluster["spec"]["instances"] >= 3, "a CNPG cluster needs 3 instances (PDB and drain)"
        assert cluster["spec"].get("enablePDB", True) is True
    for pooler in by_kind(objs, "Pooler"):
        name = pooler["metadata"]["name"]
        assert pooler["spec"]["cluster"]["name"] in clusters, f"Pooler {name}: unknown cluster"
        assert pooler["spec"]["cluster"]["name"] != name
        assert name not in clusters, f"Pooler {name} has a Cluster's name"
        assert pooler["spec"].get("instances", 1) >= 2, f"Pooler {name}: a single PgBouncer is a single point"


def test_database_connection_budget(objs: list[dict]) -> None:
    """Client connections that can reach each (user, database) pool stay within 80 % of its server pool,
    and the server connections every pooler can open fit in max_connections."""
    poolers = {f"{p['metadata']['name']}": p for p in by_kind(objs, "Pooler")}
    assert len(poolers) == 1
    pooler_name, pooler = next(iter(poolers.items()))
    params = pooler["spec"]["pgbouncer"]["parameters"]
    server_pool = int(params["default_pool_size"]) * pooler["spec"]["instances"]
    demand: dict[str, int] = {}
    for pod in pods(objs):
        for c in pod.containers:
            env = env_of(objs, c)
            host = db_host(env)
            if host is None:
                continue
            prefix = settings_prefix(env)
            if pod.kind in ("Job", "CronJob"):
                assert host.endswith("-rw"), f"{pod.ref}: the loader writes, it must use the primary"
                continue
            assert host == pooler_name, f"{pod.ref}: readers go through the Pooler, not {host}"
            assert prefix and f"{prefix}POOL_MAX" in env, f"{pod.ref}: pool size not set explicitly"
            hpa = _hpa_for(objs, pod.name)
            replicas = hpa["spec"]["maxReplicas"] if hpa else pod.workload["spec"].get("replicas", 1)
            user = secret_of(c, "PGUSER")
            assert user, f"{pod.ref}: PGUSER must come from a Secret"
            demand[user] = demand.get(user, 0) + replicas * PROCESSES_PER_POD * int(env[f"{prefix}POOL_MAX"])
    assert demand, "no service connects to the database"
    _primary_budget(objs)
    for user, connections in demand.items():
        assert connections <= POOLER_SHARE * server_pool, (
            f"login {user}: {connections} client connections at maxReplicas > {POOLER_SHARE:.0%} of "
            f"default_pool_size x instances = {server_pool}"
        )
    cluster = named(objs, "Cluster", pooler["spec"]["cluster"]["name"])
    max_connections = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
    # A ro pooler spreads over the standbys with no guarantee of evenness: budget one standby for all.
    server_side = server_pool * len(demand)
    assert server_side + RESERVED_CONNECTIONS <= max_connections, (
        f"{server_side} pooler server connections + {RESERVED_CONNECTIONS} reserved > {max_connections}"
    )


def _primary_budget(objs: list[dict]) -> None:
    """The report service's batch queue writes on the primary, directly: at maxReplicas, its two pools and
    its LISTEN connection per replica fit in the primary's max_connections beside the reserved ones."""
    cluster = named(objs, "Cluster", "rezone-db")
    max_connections = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
    direct = 0
    for pod in pods(objs):
        for c in pod.containers:
            env = env_of(objs, c)
            queue = env.get("REZONE_REPORT_QUEUE_DATABASE_URL")
            if queue is None:
                continue
            assert urlsplit(queue).hostname == "rezone-db-rw", f"{pod.ref}: the queue is on the primary"
            hpa = _hpa_for(objs, pod.name)
            replicas = hpa["spec"]["maxReplicas"] if hpa else pod.workload["spec"].get("replicas", 1)
            direct += replicas * PROCESSES_PER_POD * (2 * int(env["REZONE_REPORT_QUEUE_POOL_MAX"]) + 1)
    assert direct, "the report service names its queue's database"
    assert direct + RESERVED_CONNECTIONS <= max_connections, f"{direct} queue connections on the primary"
