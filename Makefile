# Two commands matter: `make run` (the whole stack, foreground) and `make test` (the whole suite).
# Each installs what is missing first (Debian packages, .venv, front-end packages).
PY := .venv/bin/python

.PHONY: run up down dsn load test lint reliability bootstrap bench lock image prod-up prod-down kube-play kube-down

run:
	@scripts/bootstrap.sh run
	@$(PY) -m deploy.local.stack run

up:
	@scripts/bootstrap.sh run
	@$(PY) -m deploy.local.stack up

down:
	@if [ -x $(PY) ]; then $(PY) -m deploy.local.stack down; fi

dsn:
	@$(PY) -m deploy.local.stack dsn

# `make load ARGS=--force` reloads everything; `ARGS=--accept-shrink` loads a file much smaller than the last.
load:
	@scripts/bootstrap.sh run
	@$(PY) -m deploy.local.stack load $(ARGS)

# The checks first (seconds), the suite after (minutes): a lint failure fails `make test`, hence CI (.ci/run).
test: lint
	@$(PY) -m pytest $(PYTEST_ARGS)

# The same three commands as .pre-commit-config.yaml; configuration in pyproject.toml.
lint:
	@scripts/bootstrap.sh test
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy

# The fault suite (docs/reliability.md): kills, outages, overload, slow and hostile clients, on loopback only.
# Bounded: every test has its own limits, the whole run 2 h (22 kills, each attempt a real national reload: a
# whole pass took 45 min of a quiet 2-core machine, 2026-12-04; a loaded one takes longer: docs/reliability.md).
# Figures: tests/artifacts/reliability.json.
reliability:
	@scripts/bootstrap.sh test
	@REZONE_RELIABILITY=1 timeout 7200 $(PY) -m pytest tests/reliability -x -v -p no:cacheprovider $(PYTEST_ARGS)

bootstrap:
	@scripts/bootstrap.sh test

# Hashed dependency locks from pyproject.toml (requirements/*.lock): run after adding or changing a dependency.
lock:
	@scripts/lock.sh

# Container images into local podman/buildah storage: the debootstrap base, the project image
# (deploy/Dockerfile) and the infrastructure images of prod-up (docs/deploy.md, "Images").
image:
	@scripts/bootstrap.sh run
	@deploy/images/build.sh all

# Production-like topology on this machine, from those images (docs/deploy.md, "make prod-up").
prod-up:
	@scripts/bootstrap.sh run
	@$(PY) -m deploy.local.prod up

prod-down:
	@if [ -x $(PY) ]; then $(PY) -m deploy.local.prod down; fi

# The dev overlay's workloads under `podman kube play` (docs/deploy.md, "podman kube play").
kube-play:
	@scripts/bootstrap.sh test
	@$(PY) -m deploy.local.kubeplay up

kube-down:
	@if [ -x $(PY) ]; then $(PY) -m deploy.local.kubeplay down; fi
