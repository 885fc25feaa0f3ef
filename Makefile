# Run History Studio. The two commands: `make run` and `make test`.
#
#   make run [PORT=8000] [HOST=127.0.0.1]   the studio with demo data, DEBUG on
#   make test [PYTEST_ARGS=...]             format, lint, migrations, the whole test suite
#
# Both create .venv and install requirements-dev.txt when those files changed.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest-xdist workers (`make test PYTEST_WORKERS=0` runs in one process).
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
# xdist workers must collect the same tests in the same order: a fixed hash seed
# keeps parametrisations built from sets identical in every worker process.
ifeq ($(PYTEST_WORKERS),0)
PYTEST = $(VENV)/bin/pytest
else
PYTEST = PYTHONHASHSEED=0 $(VENV)/bin/pytest -n $(PYTEST_WORKERS)
endif

# The processes `make run` starts, and stops together on Ctrl-C (bin/supervise.py):
# one quoted NAME=COMMAND each. The worker executes submitted scripts, sweeps stale runs and
# sends alert email (to files under data/mail/ without EMAIL_HOST: the Alerts page's Outbox
# tab) and webhooks.
RUN_PROCS = "web=$(PY) manage.py runserver $(HOST):$(PORT)" "worker=$(PY) manage.py runworker --concurrency 4"

.PHONY: help setup run migrate test lint fmt bench clean clean-data

help:
	@echo "make run         the studio on http://$(HOST):$(PORT) with demo data (PORT=... to move it)"
	@echo "make test        ruff format --check, ruff check, makemigrations --check, pytest"
	@echo "make lint        ruff format --check and ruff check"
	@echo "make fmt         ruff format and ruff check --fix"
	@echo "make bench       run the benchmarks in bench/"
	@echo "make clean       remove .venv and build output (keeps data/)"
	@echo "make clean-data  remove data/ (the SQLite database, uploaded files, demo password)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when a requirements file is newer than the last install.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

setup: $(STAMP)

run: export DEBUG = 1
run: export STUDIO_BASE_URL ?= http://$(HOST):$(PORT)
run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	$(PY) bin/supervise.py $(RUN_PROCS)

migrate: export DEBUG ?= 1
migrate: setup
	$(PY) manage.py migrate --noinput

test: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	$(PYTEST) $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

fmt: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	@set -e; for script in bench/*.py; do \
		[ "$$script" = bench/seed.py ] && continue; echo "== $$script"; $(PY) "$$script"; done

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache htmlcov test-results .coverage
	find . -name __pycache__ -type d -prune -not -path './data/*' -exec rm -rf {} +

clean-data:
	rm -rf data
