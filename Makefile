# One entry point for everything: `make demo` runs the main job, `make test` the checks.
# Both create .venv from scratch when it is missing and install pinned versions from
# constraints.txt, so a fresh clone with only python3, pip and make is enough.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
export AIRFLOW_HOME ?= $(CURDIR)/.airflow_home

.PHONY: help venv install lint format typecheck unit test test-compat compat-pins e2e docs demo airflow sandbox bench build constraints clean

help:
	@echo "make demo   - the restock (order, approval, delivery, receipt) and stocktake DAGs against the sandbox"
	@echo "make test   - lint, format check, type check, docs build and the whole test suite"
	@echo "make docs   - build the documentation site (strict) into site/"
	@echo "make test-compat - DAG, trigger and sensor tests on Airflow 3.1, 3.2 and 3.3, each with its own pins"
	@echo "make e2e    - the connection form in headless Chromium (needs Debian's chromium)"
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

# Every Airflow minor the package declares (apache-airflow>=3.1 in pyproject.toml) is tested,
# not assumed: the newest patch of each, with its own pins (constraints/airflow-X.Y.Z.txt), in its
# own venv (.venv-compat-X.Y), runs the DAG, trigger and sensor tests and parses example_dags/;
# then the built wheel, pip-installed beside the oldest, runs a DAG against the sandbox.
COMPAT_RELEASES := 3.1.8 3.2.2 3.3.2
COMPAT_FLOOR := 3.1.8
test-compat: build
	$(BIN)/python scripts/test_compat.py test $(COMPAT_RELEASES)
	$(BIN)/python scripts/test_compat.py wheel $(COMPAT_FLOOR)

# Regenerate constraints/airflow-X.Y.Z.txt (maintainers only): each release with the dependencies
# PyPI had the day after it.
compat-pins: $(STAMP)
	$(BIN)/python scripts/test_compat.py pins $(COMPAT_RELEASES)

# Airflow's UI in a real browser: the provider's connection forms, saved and tested against the
# sandbox. The screenshots land in build/e2e/ and are copied to the docs' connections page.
e2e: $(E2E_STAMP)
	@command -v chromium >/dev/null || { echo "make e2e needs Debian's chromium: apt-get install chromium"; exit 1; }
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
	rm -rf $(VENV) .venv-compat-* site dist .airflow_home .demo .mypy_cache .ruff_cache .pytest_cache
