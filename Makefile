# Two commands matter: `make run` (the whole stack, foreground) and `make test` (the whole suite).
# Each installs what is missing first (Debian packages, .venv, front-end packages).
PY := .venv/bin/python

.PHONY: run up down dsn load test bootstrap bench lock image prod-up prod-down kube-play kube-down

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

load:
	@scripts/bootstrap.sh run
	@$(PY) -m deploy.local.stack load

test:
	@scripts/bootstrap.sh test
	@$(PY) -m pytest $(PYTEST_ARGS)

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
