# Two commands matter: `make run` (the whole stack, foreground) and `make test` (the whole suite).
# Each installs what is missing first (Debian packages, .venv, front-end packages).
PY := .venv/bin/python

.PHONY: run up down dsn load test lint reliability bootstrap bench

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
# Bounded: every test has its own limits; ~20-30 min on 2 shared cores. Figures: tests/artifacts/reliability.json.
reliability:
	@scripts/bootstrap.sh test
	@REZONE_RELIABILITY=1 timeout 3600 $(PY) -m pytest tests/reliability -x -v -p no:cacheprovider $(PYTEST_ARGS)

bootstrap:
	@scripts/bootstrap.sh test
