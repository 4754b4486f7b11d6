# Every target bootstraps its own virtualenv from pyproject.toml; only Python is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make run: the whole system on this machine (moto, local gateway, sandbox carrier); Ctrl-C stops it
run: $(STAMP)
	$(BIN)/python -m local

## make test: unit, integration and end-to-end tests
test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/core/lisoloo local
	# every function's file is app.py, so each is its own mypy run (the cache keeps it quick)
	for handler in functions/*/app.py; do $(BIN)/mypy $$handler || exit 1; done

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
