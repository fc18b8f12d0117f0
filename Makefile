# Two commands matter: `make run` (the whole stack, foreground) and `make test` (the whole suite).
# Each installs what is missing first (Debian packages, .venv, front-end packages).
PY := .venv/bin/python

.PHONY: run up down dsn load test lint bootstrap bench

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

# The checks first (seconds), the suite after (minutes): a lint failure fails `make test`, hence CI (.ci/run).
test: lint
	@$(PY) -m pytest $(PYTEST_ARGS)

# The same three commands as .pre-commit-config.yaml; configuration in pyproject.toml.
lint:
	@scripts/bootstrap.sh test
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy

bootstrap:
	@scripts/bootstrap.sh test
