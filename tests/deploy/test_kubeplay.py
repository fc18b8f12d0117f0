"""`make kube-play`'s stand-ins (deploy/local/kubeplay.py), without a container engine: the replicated
Deployments get their HPA's minimum of pods, each on a port of its own, and the Service stand-in balances
over exactly those pods without retrying (kube-proxy does not)."""

from __future__ import annotations

import re

from deploy.local import kubeplay, prodconf
from tests.deploy.deploy_checks import render


def test_replicated_deployments_run_their_hpa_minimum_on_ports_of_their_own():
    objs = render("dev")
    hpa_min = {
        o["spec"]["scaleTargetRef"]["name"]: o["spec"]["minReplicas"]
        for o in objs
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    for name in kubeplay.REPLICA_PORTS:
        assert kubeplay.replicas_of(objs, name) == hpa_min[name] == 2, name
    pod_ports = [p for ports in kubeplay.REPLICA_PORTS.values() for p in ports]
    taken = [*kubeplay.PORTS.values(), *(p + kubeplay.INTERNAL for p in (19185, 19186))]
    prod_ports = set(prodconf.PORT.values())
    for service in ("gateway", "tiles", "aggregate", "report", "gateway_internal"):  # up to 5 workers each
        prod_ports |= {prodconf.PORT[service] + i for i in range(5)}
    assert len(set(pod_ports)) == len(pod_ports)
    assert not set(pod_ports) & set(taken), "a replica port is a Service's or another pod's"
    assert not set(pod_ports) & prod_ports, "a replica port is one of make prod-up's (running meanwhile)"


def test_service_stand_in_balances_over_the_replicas_without_retry():
    text = kubeplay.edge_conf([kubeplay.PORTS["gateway"]]).read_text()
    for name, ports in kubeplay.REPLICA_PORTS.items():
        block = re.search(rf"upstream svc_{name} \{{(.*?)\}}", text, re.S)
        assert block is not None, name
        assert re.findall(r"server 127\.0\.0\.1:(\d+);", block.group(1)) == [str(p) for p in ports]
        server = re.search(rf"listen 127\.0\.0\.1:{kubeplay.PORTS[name]};(.*?)\n    \}}", text, re.S)
        assert server is not None and f"proxy_pass http://svc_{name};" in server.group(1)
        assert "proxy_next_upstream off;" in server.group(1)
