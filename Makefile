# One entry point for everything: `make demo` runs the main job, `make test` the checks.
# Both create .venv from scratch when it is missing and install pinned versions from
# constraints.txt, so a fresh clone with only python3, pip and make is enough.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
export AIRFLOW_HOME ?= $(CURDIR)/.airflow_home

.PHONY: help venv install lint format typecheck unit test test-compat e2e docs demo airflow sandbox bench build constraints clean

help:
	@echo "make demo   - the restock (order, approval, delivery, receipt) and stocktake DAGs against the sandbox"
	@echo "make test   - lint, format check, type check, docs build and the whole test suite"
	@echo "make docs   - build the documentation site (strict) into site/"
	@echo "make test-compat - the DAG tests on the oldest Airflow minor the package declares"
	@echo "make e2e    - the connection form in headless Chromium; real triggerer and Celery deployments"
	@echo "make bench  - benchmarks (not part of make test)"
	@echo "make build  - the wheel and the sdist into dist/, checked with twine"
	@echo "make airflow - Airflow standalone UI with the example DAGs and sandbox connections"
	@echo "make sandbox - run the sandbox server in the foreground"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv only speeds up the install; it is itself pinned. The stamp re-runs the install
# whenever the pins or the package metadata change.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt build-constraints.txt
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt --build-constraints build-constraints.txt -e ".[dev]"
	touch $(STAMP)

venv install: $(STAMP)

E2E_STAMP := $(VENV)/.e2e-installed
$(E2E_STAMP): $(STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt -e ".[dev,e2e]"
	touch $(E2E_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

# mkdocstrings reads the package statically (griffe): no import, no Airflow DB, no network.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck docs unit

# The declared floor (apache-airflow>=$(AIRFLOW_FLOOR) in pyproject.toml) is tested, not assumed:
# the newest patch of that minor, with the other pins kept, runs the DAG tests in its own venv.
AIRFLOW_FLOOR := 3.3
COMPAT := .venv-compat
test-compat: $(STAMP)
	test -x $(COMPAT)/bin/python || $(PYTHON) -m venv $(COMPAT)
	grep -v '^apache-airflow' constraints.txt > $(COMPAT)/constraints.txt
	$(BIN)/uv pip install --quiet --python $(COMPAT)/bin/python -c $(COMPAT)/constraints.txt \
		--build-constraints build-constraints.txt "apache-airflow~=$(AIRFLOW_FLOOR).0" -e ".[dev]"
	$(COMPAT)/bin/python -c "import airflow; print('Airflow', airflow.__version__)"
	$(COMPAT)/bin/pytest tests/dags

# Airflow's UI in a real browser: the provider's connection forms, saved and tested against the
# sandbox. The screenshots land in build/e2e/ and are copied to the docs' connections page.
# Real deployments: thirty deferred sensors through a real triggerer (PostgreSQL), and a
# CeleryExecutor with Redis and two workers (Debian's postgresql and redis-server).
e2e: $(E2E_STAMP)
	@command -v chromium >/dev/null || { echo "make e2e needs Debian's chromium: apt-get install chromium"; exit 1; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "make e2e needs Debian's postgresql: apt-get install postgresql"; exit 1; }
	@command -v redis-server >/dev/null || { echo "make e2e needs Debian's redis-server: apt-get install redis-server"; exit 1; }
	$(BIN)/pytest -m e2e tests/e2e
	mkdir -p docs/images/connections
	cp build/e2e/*.png docs/images/connections/

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

airflow: $(STAMP)
	$(BIN)/python scripts/demo.py --standalone

sandbox: $(STAMP)
	$(BIN)/altegio-sandbox

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks

# Both distributions, built in isolation with the pinned build backend, then checked as PyPI would.
build: $(STAMP)
	rm -rf dist
	$(BIN)/uv build --quiet --build-constraints build-constraints.txt --out-dir dist
	$(BIN)/twine check --strict dist/*

# Regenerate the pins (maintainers only): resolves the newest allowed versions.
constraints: $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile --quiet --python $(BIN)/python pyproject.toml --extra dev --extra sandbox -o constraints.txt --no-header --no-annotate

clean:
	rm -rf $(VENV) site dist .airflow_home .demo .mypy_cache .ruff_cache .pytest_cache
