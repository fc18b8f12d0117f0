# Two commands matter: `make run` (the whole stack, foreground) and `make test` (the whole suite).
# Each installs what is missing first (Debian packages, .venv, front-end packages).
PY := .venv/bin/python

.PHONY: run up down dsn load test bootstrap bench

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
