"""`make kube-play`: the dev overlay's Deployments, Services and ConfigMaps under `podman kube play`.

    python -m deploy.local.kubeplay up        render, adapt, play; check every probe; print the edge URL
    python -m deploy.local.kubeplay roll      rolling restart of the gateway Deployment (surge, then drain)
    python -m deploy.local.kubeplay down      podman kube down + the stand-ins

What podman cannot run is replaced by documented stand-ins (docs/deploy.md, "podman kube play"):
- CloudNativePG Cluster + Pooler: the PostGIS and PgBouncer containers of `make prod-up` (same images, already
  loaded; started by this command if absent); the CNPG Secret `rezone-db-app` becomes literal env values.
- Gateway API (Gateway + HTTPRoutes) and the Services' load balancing: an nginx container routing /tiles/,
  /styles/ to the tile cache and the rest to the gateway pods, as the HTTPRoutes do.
- NetworkPolicy, HPA, PDB, the loader Job/CronJob: left out (podman has no such objects; the loader ran in
  prod-up).
The adaptations podman's host network needs are mechanical and listed in `adapt()`: one loopback port per
Deployment (19180–19188, next to prod-up's), hostNetwork, hostPath for emptyDir/PVC/ConfigMap file volumes,
and the probes taken out of the pod (podman would run them with curl inside the image, which has none) and
answered by this script over HTTP exactly as the kubelet would call them. The aggregate and report
Deployments run at their HPA's minReplicas (2), each replica a Deployment `<name>-<i>` of its own, behind a
Service stand-in (the edge container's nginx, round robin, no retry: kube-proxy does not retry either).
"""

from __future__ import annotations

import copy
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from . import podman, prod
from .cluster import free_port
from .tile_cache import loopback_conf

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".data" / "kube"
STACK = "kube"
PLAYED = WORK / "played.yaml"
PORTS = {
    "edge": 19180,
    "tile-cache": 19181,
    "tiles": 19182,
    "aggregate": 19183,
    "report": 19184,
    "gateway": 19185,
    "gateway-surge": 19186,
    "redis": 19188,
}
# Deployments played at their HPA's minReplicas (podman plays one pod per Deployment, so each replica is a
# Deployment `<name>-<i>` of its own, on its own port), behind a Service stand-in at PORTS[name]: the two the
# gateway calls for the API, whose single pod shed (503) or timed out (report pool) under load in the first
# roll runs. Tiles (behind the tile cache) and Redis stay at one pod; the gateway is the one being rolled.
REPLICA_PORTS = {"aggregate": (19157, 19158), "report": (19159, 19187)}
PLAY_KINDS = ("Deployment", "ConfigMap", "Service")
INTERNAL = 10  # a gateway pod's internal port (/metrics, detailed /readyz): its public port + 10


def render() -> list[dict]:
    """`kubectl kustomize deploy/overlays/dev`."""
    kubectl = Path(sys.executable).parent / "kubectl"
    out = subprocess.run(
        [str(kubectl), "kustomize", str(ROOT / "deploy" / "overlays" / "dev")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _hostpath(path: Path, uid_gid: str) -> dict:
    prod._owned_dir(path, uid_gid)
    return {"hostPath": {"path": str(path), "type": "Directory"}}


def adapt(objs: list[dict], gateway_port: int, revision: str = "a") -> tuple[list[dict], dict[str, dict]]:
    """The played objects, and the probes taken out of each Deployment (by name) for this script to call."""
    password = prod._secret("db-password")
    aggregate_password = prod._secret("aggregate-password")
    pgb = f"127.0.0.1:{prod.PORT['pgbouncer']}"
    port_of = {**PORTS, "gateway": gateway_port}
    configs: dict[str, dict] = {}
    out: list[dict] = []
    probes: dict[str, dict] = {}
    for obj in objs:
        if obj["kind"] not in PLAY_KINDS:
            continue
        obj = copy.deepcopy(obj)
        obj["metadata"].pop("namespace", None)
        if obj["kind"] == "ConfigMap" and "data" in obj:
            data = obj["data"]
            if "DATABASE_URL" in data:  # Pooler stand-in: prod-up's PgBouncer, no TLS on loopback
                data["DATABASE_URL"] = f"postgresql://{pgb}/rezone"
                data["PGSSLMODE"] = "disable"
            if "REZONE_REPORT_QUEUE_DATABASE_URL" in data:  # the primary stand-in: prod-up's PostgreSQL
                data["REZONE_REPORT_QUEUE_DATABASE_URL"] = (
                    f"postgresql://127.0.0.1:{prod.PORT['postgres']}/rezone"
                )
            for key, value in list(data.items()):
                if key.endswith("_HOST"):
                    value = "127.0.0.1"
                if key.startswith("REZONE_") and key.endswith("_PORT"):
                    # podman 4.3 lets envFrom win over a container's env (Kubernetes: env wins), so the
                    # per-pod port is set in env only.
                    del data[key]
                    continue
                for service in ("tile-cache", "tiles", "aggregate", "report", "redis"):
                    for port in ("8080", "8081", "8082", "8083", "6379"):
                        value = value.replace(f"//{service}:{port}", f"//127.0.0.1:{port_of[service]}")
                data[key] = value
            configs[obj["metadata"]["name"]] = data
        if obj["kind"] == "Service":
            for p in obj["spec"]["ports"]:
                p["port"] = p["targetPort"] = port_of[obj["metadata"]["name"]]
        if obj["kind"] == "Deployment":
            name = obj["metadata"]["name"]
            if name in REPLICA_PORTS:
                for i in range(replicas_of(objs, name)):
                    pod = copy.deepcopy(obj)
                    pod["metadata"]["name"] = f"{name}-{i}"
                    _deployment(
                        pod, name, REPLICA_PORTS[name][i], port_of, password, aggregate_password, probes
                    )
                    out.append(pod)
                continue
            obj["metadata"]["name"] = f"{name}-{revision}" if name == "gateway" else name
            _deployment(obj, name, port_of[name], port_of, password, aggregate_password, probes)
        out.append(obj)
    return out, probes


def replicas_of(objs: list[dict], name: str) -> int:
    """The pods a replicated Deployment is played with: its HPA's minReplicas, as many as it has ports."""
    hpa = [
        o
        for o in objs
        if o["kind"] == "HorizontalPodAutoscaler" and o["spec"]["scaleTargetRef"]["name"] == name
    ]
    return min(hpa[0]["spec"]["minReplicas"] if hpa else 1, len(REPLICA_PORTS[name]))


def _deployment(
    obj: dict,
    name: str,
    own: int,
    port_of: dict[str, int],
    password: str,
    aggregate_password: str,
    probes: dict[str, dict],
) -> None:
    """One played Deployment (in place): one pod, host network, its loopback port; its probes taken out."""
    played = obj["metadata"]["name"]
    obj["spec"]["replicas"] = 1  # podman plays one pod per Deployment; the roll adds the surge pod
    spec = obj["spec"]["template"]["spec"]
    spec["hostNetwork"] = True
    for key in (
        "topologySpreadConstraints",
        "serviceAccountName",
        "automountServiceAccountToken",
        "enableServiceLinks",
    ):
        spec.pop(key, None)
    for c in spec["containers"]:
        probes[played] = {k: c.pop(k) for k in ("startupProbe", "livenessProbe", "readinessProbe") if k in c}
        c.pop("lifecycle", None)
        numbers = {"http": own, "redis": own, "internal": own + INTERNAL}
        for probe in probes[played].values():  # named ports → this pod's loopback ports
            for how in ("httpGet", "tcpSocket"):
                if how in probe:
                    probe[how]["port"] = numbers[probe[how]["port"]]
            if "exec" in probe:
                # podman names it <pod>-<container>, the pod <deployment>-pod[-N] (version-dependent)
                probe["exec"]["container"] = (f"{played}-pod", c["name"])
                if probe["exec"]["command"][0] == "redis-cli":  # the port moved off 6379
                    probe["exec"]["command"][1:1] = ["-p", str(own)]
        # Host network: the process listens on its loopback port itself; a containerPort would make
        # podman ask for a port mapping, which only bridge networking has.
        c.pop("ports", None)
        env = []
        for var in c.get("env", []):
            if var["name"] in ("PGUSER", "PGPASSWORD"):  # the CNPG-made Secret, stand-in values
                login = prod.AGGREGATE_LOGIN if name == "aggregate" else "rezone"
                pw = aggregate_password if name == "aggregate" else password
                var = {"name": var["name"], "value": login if var["name"] == "PGUSER" else pw}
            env.append(var)
        prefix = f"REZONE_{name.upper().replace('-', '_')}_"
        env.append({"name": f"{prefix}PORT", "value": str(own)})
        if name == "gateway":
            env.append({"name": f"{prefix}INTERNAL_PORT", "value": str(numbers["internal"])})
        if name in ("tiles", "gateway"):
            env.append({"name": f"{prefix}PUBLIC_URL", "value": f"http://127.0.0.1:{PORTS['edge']}"})
        c["env"] = env
        if c["image"].startswith("localhost:5001/rezone-cpts/rezone"):
            c["image"] = prod.IMAGES["rezone"]
        if name == "redis":
            c["image"] = prod.IMAGES["redis"]
            c["args"] = [a if a != "/data" else "/tmp" for a in c["args"]] + [
                "--port",
                str(PORTS["redis"]),
            ]
            c["args"][c["args"].index("--protected-mode") + 1] = "yes"
        if name == "tile-cache":
            c["image"] = prod.IMAGES["nginx"]
            work = WORK / "tile-cache"
            work.mkdir(parents=True, exist_ok=True)
            conf = loopback_conf(work, PORTS["tile-cache"], PORTS["tiles"], status_port=free_port())
            c["args"] = [
                "nginx",
                "-e",
                "stderr",
                "-p",
                str(work),
                "-c",
                str(conf),
                "-g",
                "daemon off;",
            ]
            c["volumeMounts"] = [{"name": "work", "mountPath": str(work)}]
            spec["volumes"] = [{"name": "work", **_hostpath(work, prod.UIDS["nginx"])}]
            for path in work.iterdir():
                prod._chown(path, prod.UIDS["nginx"])
            continue
    for vol in spec.get("volumes", []):
        if "emptyDir" in vol:
            vol.pop("emptyDir")
            vol.update(_hostpath(WORK / f"{played}-{vol['name']}", prod.UIDS["rezone"]))
        if "persistentVolumeClaim" in vol:  # rezone-data: the pyramid written by prod-up's loader
            vol.pop("persistentVolumeClaim")
            vol["hostPath"] = {"path": str(prod.DATA / "data"), "type": "Directory"}


def _probe(probe: dict) -> str:
    """One probe, as the kubelet runs it: HTTP GET (2xx/3xx), TCP connect, or the command in the container."""
    timeout = probe.get("timeoutSeconds", 2)
    if "httpGet" in probe:
        get = probe["httpGet"]
        with urllib.request.urlopen(f"http://127.0.0.1:{get['port']}{get['path']}", timeout=timeout) as r:
            return f"GET :{get['port']}{get['path']} → {r.status}"
    if "tcpSocket" in probe:
        socket.create_connection(("127.0.0.1", probe["tcpSocket"]["port"]), timeout=timeout).close()
        return f"TCP :{probe['tcpSocket']['port']} → connected"
    cmd = probe["exec"]["command"]
    pod, container = probe["exec"]["container"]
    names = podman.podman("ps", "--format", "{{.Names}}").stdout.split()
    found = [n for n in names if n.startswith(pod) and n.endswith(f"-{container}")]
    if not found:
        raise OSError(f"no running container of pod {pod}")
    res = podman.podman("exec", found[0], *cmd, check=False, timeout=timeout + 5)
    if res.returncode != 0:
        raise OSError(f"{' '.join(cmd)} → exit {res.returncode}: {res.stderr.strip()}")
    return f"exec {' '.join(cmd)} → {res.stdout.strip() or 'exit 0'}"


def check_probes(probes: dict[str, dict], timeout: float = 180) -> dict[str, dict]:
    """Call every probe as the kubelet would (startup first, then readiness and liveness); the answers."""
    answers: dict[str, dict] = {}
    for name, kinds in probes.items():
        deadline = time.monotonic() + timeout
        answers[name] = {}
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = kinds.get(kind)
            if not probe:
                answers[name][kind] = "none"
                continue
            while True:
                try:
                    answers[name][kind] = _probe(probe)
                    break
                except (OSError, urllib.error.URLError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1)
    return answers


def _play(objs: list[dict], path: Path) -> None:
    path.write_text(yaml.safe_dump_all(objs, sort_keys=False))
    podman.podman("kube", "play", "--network", "host", str(path), timeout=600)


def edge_conf(gateway_ports: list[int]) -> Path:
    """The Gateway API stand-in: HTTPRoutes as nginx locations, the gateway Service as an upstream."""
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in gateway_ports)
    # The Services of the replicated Deployments: round robin over their pods, and no retry on another one
    # (kube-proxy balances connections and retries nothing; a retry is the caller's business).
    services = "\n".join(
        f"""    upstream svc_{name} {{
{chr(10).join(f"        server 127.0.0.1:{p};" for p in ports)}
        keepalive 32;
        keepalive_timeout 10s;
    }}
    server {{
        listen 127.0.0.1:{PORTS[name]};
        client_max_body_size 8m;
        location / {{ proxy_pass http://svc_{name}; proxy_next_upstream off; proxy_read_timeout 90s; }}
    }}"""
        for name, ports in REPLICA_PORTS.items()
    )
    text = f"""pid /tmp/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path /tmp/cb; proxy_temp_path /tmp/p; fastcgi_temp_path /tmp/f;
    uwsgi_temp_path /tmp/u; scgi_temp_path /tmp/s;
    # Idle upstream connections are dropped before the servers' own keep-alive timeout (the services' 15 s
    # header_timeout_s, nginx's 65 s): a connection the server closes while idle must never be reused.
    upstream gateway {{
{servers}
        keepalive 32;
        keepalive_timeout 10s;
    }}
    upstream tile_cache {{ server 127.0.0.1:{PORTS["tile-cache"]}; keepalive 32; keepalive_timeout 10s; }}
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_next_upstream error timeout http_502 http_503;
    server {{
        listen 127.0.0.1:{PORTS["edge"]};
        location ~ ^/(metrics|readyz|healthz)$ {{ return 404; }}
        location ~ ^/(tiles|styles)/ {{ proxy_pass http://tile_cache; }}
        location / {{ proxy_pass http://gateway; proxy_read_timeout 35s; }}
    }}
{services}
}}
"""
    path = WORK / "edge" / "nginx.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def up() -> int:
    """Data tier (prod-up's), the played workloads, the edge stand-in; every probe answered."""
    t0 = time.perf_counter()
    if not (podman.running("rezone-prod-postgres") and podman.running("rezone-prod-pgbouncer")):
        prod.up()
    down(keep_data_tier=True)
    WORK.mkdir(parents=True, exist_ok=True)
    objs, probes = adapt(render(), PORTS["gateway"])
    _play(objs, PLAYED)
    podman.run(
        "rezone-kube-edge",
        prod.IMAGES["nginx"],
        ["nginx", "-e", "stderr", "-c", "/etc/rezone-edge/nginx.conf", "-g", "daemon off;"],
        stack=STACK,
        user=prod.UIDS["nginx"],
        volumes=[f"{edge_conf([PORTS['gateway']]).parent}:/etc/rezone-edge:ro"],
    )
    answers = check_probes(probes)
    for name, found in answers.items():
        print(f"[kube] {name}: {found}", flush=True)
    podman.wait_http(f"http://127.0.0.1:{PORTS['edge']}/api/v1/meta", "rezone-kube-edge", 60)
    print(
        f"[kube] played {PLAYED} in {time.perf_counter() - t0:.1f} s; edge http://127.0.0.1:{PORTS['edge']}/"
    )
    return 0


def roll() -> int:
    """Rolling restart of the gateway (maxSurge 1, maxUnavailable 0), as the Deployment's strategy says.

    New pod up and ready → old pod out of the Service (nginx reload: in-flight requests finish on it) →
    the preStop pause → SIGTERM (aiohttp's graceful stop) with the pod's grace period.
    """
    t0 = time.perf_counter()
    pods = podman.podman("pod", "ps", "--format", "{{.Name}}").stdout.split()
    old = "gateway-a" if any(p.startswith("gateway-a-pod") for p in pods) else "gateway-b"  # 4.3: <x>-pod-0
    new, new_port = (
        ("gateway-b", PORTS["gateway-surge"]) if old == "gateway-a" else ("gateway-a", PORTS["gateway"])
    )
    old_port = PORTS["gateway"] if old == "gateway-a" else PORTS["gateway-surge"]
    objs = render()
    played, probes = adapt([o for o in objs if o["kind"] != "Service"], new_port, revision=new[-1])
    only = [o for o in played if o["kind"] == "ConfigMap" or o["metadata"]["name"] == new]
    _play(only, WORK / f"{new}.yaml")
    check_probes({new: probes[new]})
    print(f"[kube] {new} ready on :{new_port} ({time.perf_counter() - t0:.1f} s)", flush=True)
    edge_conf([new_port])
    _event("ready", new)
    podman.podman("exec", "rezone-kube-edge", "nginx", "-c", "/etc/rezone-edge/nginx.conf", "-s", "reload")
    _event("edge reloaded", f"{old} out of the Service")
    grace = 40
    time.sleep(10)  # preStop sleep: endpoints withdrawn, in-flight requests on the old pod finish
    _event("SIGTERM", old)
    for pod in (p for p in pods if p.startswith(f"{old}-pod")):
        podman.podman("pod", "stop", "--time", str(grace), pod, timeout=grace + 30)
        podman.podman("pod", "rm", "--force", pod, check=False)
    _event("stopped", old)
    print(f"[kube] {old} (:{old_port}) drained and stopped; roll done in {time.perf_counter() - t0:.1f} s")
    return 0


def _event(what: str, detail: str) -> None:
    """A roll event on the machine's monotonic clock, which bench.load.roll lines up with its schedule."""
    print(f"[kube] event {time.monotonic():.3f} {what}: {detail}", flush=True)


def down(keep_data_tier: bool = True) -> int:
    """Remove the played pods and the edge stand-in (prod-up's data tier stays, `make prod-down` stops it)."""
    for path in [PLAYED, WORK / "gateway-a.yaml", WORK / "gateway-b.yaml"]:
        if path.exists():
            podman.podman("kube", "down", str(path), check=False)
    # podman 4.3 names a Deployment's pod <name>-pod-0 while `kube down` looks for <name>-pod: remove every
    # pod of a played Deployment by its prefix (the surge pod's name too).
    deployments = {o["metadata"]["name"] for o in render() if o["kind"] == "Deployment"} - {"gateway"}
    replicas = {f"{name}-{i}" for name, ports in REPLICA_PORTS.items() for i in range(len(ports))}
    names = {f"{name}-pod" for name in deployments | replicas | {"gateway-a", "gateway-b"}}
    for pod in podman.podman("pod", "ps", "--format", "{{.Name}}", check=False).stdout.split():
        if pod in names or pod.rsplit("-", 1)[0] in names:
            podman.podman("pod", "rm", "--force", pod, check=False)
    podman.remove(STACK)
    return 0


def main() -> int:
    """Entry point."""
    commands = {"up": up, "roll": roll, "down": down}
    command = sys.argv[1] if len(sys.argv) > 1 else "up"
    if command not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[command]()


if __name__ == "__main__":
    sys.exit(main())
