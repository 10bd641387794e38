# One entry point for everything: `make demo` runs the main job, `make test` the checks.
# Both create .venv from scratch when it is missing and install pinned versions from
# constraints.txt, so a fresh clone with only python3, pip and make is enough.
# `make help` lists every target: the text after `##` on a target's line.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
export AIRFLOW_HOME ?= $(CURDIR)/.airflow_home

.PHONY: help install lint format typecheck unit test test-compat compat-pins e2e screenshots docs demo airflow \
	sandbox bench build constraints clean

help: ## this list
	@awk -F':.*## ' '/^[a-z][a-z0-9-]*:.*## / { printf "make %-12s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv only speeds up the install; it is itself pinned. The stamp re-runs the install
# whenever the pins or the package metadata (the version in __init__.py too) change. The dev tools are a dependency group
# (PEP 735): installed here, never published with the package.
$(STAMP): $(BIN)/python pyproject.toml airflow_provider_altegio/__init__.py constraints.txt build-constraints.txt
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt --build-constraints build-constraints.txt -e . --group dev
	touch $(STAMP)

install: $(STAMP) ## create .venv with the package (editable) and the dev group, from the pins

E2E_STAMP := $(VENV)/.e2e-installed
$(E2E_STAMP): $(STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt -e . --group dev --group e2e
	touch $(E2E_STAMP)

lint: $(STAMP) ## ruff: lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## ruff: format the code and apply the safe lint fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP) ## mypy, strict on the package
	$(BIN)/mypy

# mkdocstrings reads the package statically (griffe): no import, no Airflow DB, no network.
docs: $(STAMP) ## the documentation site (strict) into site/; it works opened from disk, offline
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# The suite runs in four processes (pytest-xdist) even on two cores: its tests mostly wait on
# sandboxes, api-servers and polls. `make unit PYTEST_WORKERS=0` runs it in one.
PYTEST_WORKERS ?= 4
unit: $(STAMP) ## the whole pytest suite (everything but the browser); one test: .venv/bin/pytest FILE -k NAME
	$(BIN)/pytest -n $(PYTEST_WORKERS)

test: lint typecheck docs unit ## lint, format check, mypy, docs build and the whole test suite

# Every Airflow minor the package declares (apache-airflow>=3.1 in pyproject.toml) is tested,
# not assumed: the newest patch of each, with its own pins (constraints/airflow-X.Y.Z.txt), in its
# own venv (.venv-compat-X.Y), runs the DAG, trigger, sensor and lineage tests and parses example_dags/;
# then the built wheel, pip-installed beside the oldest, runs a DAG against the sandbox.
COMPAT_RELEASES := 3.1.8 3.2.2 3.3.2
COMPAT_FLOOR := 3.1.8
test-compat: build ## DAG, trigger, sensor and lineage tests on Airflow 3.1, 3.2 and 3.3, each with its own pins
	$(BIN)/python scripts/test_compat.py test $(COMPAT_RELEASES)
	$(BIN)/python scripts/test_compat.py wheel $(COMPAT_FLOOR)

# Regenerate constraints/airflow-X.Y.Z.txt (maintainers only): each release with the dependencies
# PyPI had the day after it.
compat-pins: $(STAMP) ## regenerate constraints/airflow-X.Y.Z.txt from PyPI as of each release's date
	$(BIN)/python scripts/test_compat.py pins $(COMPAT_RELEASES)

# Airflow's UI in a real browser: the provider's connection forms, saved and tested against the
# sandbox; screenshots and the labels they show go to build/e2e/ only (`make screenshots` copies
# them into the docs). Real deployments: thirty deferred sensors through a real triggerer
# (PostgreSQL), and a CeleryExecutor with Redis and two workers (Debian's postgresql and
# redis-server).
e2e: $(E2E_STAMP) ## the connection forms in headless Chromium; real triggerer and Celery deployments
	@command -v chromium >/dev/null || { echo "make e2e needs Debian's chromium: apt-get install chromium"; exit 1; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "make e2e needs Debian's postgresql: apt-get install postgresql"; exit 1; }
	@command -v redis-server >/dev/null || { echo "make e2e needs Debian's redis-server: apt-get install redis-server"; exit 1; }
	rm -rf build/e2e
	$(BIN)/pytest -m e2e tests/e2e

# The committed screenshots and their manifests (<type>-form.json: the labels and help texts
# they show); `make test` fails when those differ from what the code declares.
SHOTS := docs/images/connections
screenshots: e2e ## make e2e, then replace the docs' connection-form screenshots and manifests
	rm -f $(SHOTS)/*.png $(SHOTS)/*-form.json
	cp build/e2e/*.png build/e2e/*-form.json $(SHOTS)/

demo: $(STAMP) ## the restock and stocktake DAGs end to end against the sandbox
	$(BIN)/python scripts/demo.py

airflow: $(STAMP) ## Airflow standalone UI with the example DAGs and sandbox connections
	$(BIN)/python scripts/demo.py --standalone

sandbox: $(STAMP) ## the sandbox server in the foreground (port 8787)
	$(BIN)/altegio-sandbox

bench: $(STAMP) ## the benchmarks (not part of make test)
	$(BIN)/python -m tests.benchmarks

# Both distributions, built in isolation with the pinned build backend, then checked as PyPI would.
build: $(STAMP) ## the wheel and the sdist into dist/, checked with twine
	rm -rf dist
	$(BIN)/uv build --quiet --build-constraints build-constraints.txt --out-dir dist
	$(BIN)/twine check --strict dist/*

# Maintainers only: resolves the newest allowed versions.
constraints: $(BIN)/python ## regenerate constraints.txt (the pins) from pyproject.toml
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile --quiet --python $(BIN)/python pyproject.toml --extra sandbox --extra redis \
		--group pyproject.toml:dev --group pyproject.toml:e2e -o constraints.txt --no-header --no-annotate

clean: ## remove every generated file: virtualenvs, caches, site/, dist/, build/
	rm -rf $(VENV) .venv-compat-* site dist build .airflow_home .demo .mypy_cache .ruff_cache .pytest_cache \
		.hypothesis
