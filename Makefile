# Every target bootstraps its own virtualenv from pyproject.toml; only Python is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# SAM CLI is heavy (about 340 MB and 2 minutes to install): it has a virtualenv of its own, used by
# `make validate` and `make build` only, never by the tests (they translate with aws-sam-translator).
SAM_VERSION := 1.170.0
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_VERSION)
export SAM_CLI_TELEMETRY := 0

# The TypeScript SDK's tools (clients/node), where npm is installed; without it, its lint and type
# generation are skipped with a line saying so, and its tests (in `make test`) skip themselves.
NPM := $(shell command -v npm 2>/dev/null)
NODE_CLIENT := clients/node
NODE_CLIENT_STAMP := $(NODE_CLIENT)/node_modules/.package-lock.json
NO_NPM = @echo "npm not found: $(NODE_CLIENT) skipped ($(1))"

.PHONY: run test test-carriers kannel lint format clean build validate openapi fuzz load bench

# The layer (with the dev tools), the operator CLI, which is not part of the layer, and the Python SDK.
$(STAMP): pyproject.toml admin/pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e ./admin -e ./clients/python
	touch $(STAMP)

## make run: the whole system on this machine (moto, local gateway, sandbox carrier); Ctrl-C stops it
run: $(STAMP)
	$(BIN)/python -m local

## make test: unit, integration and end-to-end tests
test: $(STAMP)
	$(BIN)/python -m pytest

## make fuzz: the longer, random runs of what `make test` runs bounded and derandomized: schemathesis
## against the local stack's openapi.json and the state machine on moto (about 20 minutes)
fuzz: $(STAMP)
	LISOLOO_FUZZ_EXAMPLES=$${LISOLOO_FUZZ_EXAMPLES:-60} LISOLOO_STATEFUL_EXAMPLES=$${LISOLOO_STATEFUL_EXAMPLES:-40} \
		$(BIN)/python -m pytest tests/e2e/test_security_fuzz.py tests/integration/test_stateful_lifecycle.py

## make load: a bounded load on 127.0.0.1 (its own local stack, fixed request count, 300 s at most):
## many merchants send and poll while the sandbox storms receipts; prints the figures, fails on any loss
load: $(STAMP)
	$(BIN)/python -m tests.load $(LOAD_ARGS)

## make test-carriers: the carrier connectors and receipt parsers, against loopback fakes and a real
## Kannel (bearerbox + smsbox + fakesmsc; installed with apt-get when missing, and required here)
test-carriers: $(STAMP)
	@command -v bearerbox >/dev/null 2>&1 || [ -x /usr/sbin/bearerbox ] || $(MAKE) --no-print-directory kannel
	LISOLOO_REQUIRE_KANNEL=1 $(BIN)/python -m pytest tests/carriers tests/unit/test_receipt_parsers.py \
		tests/integration/test_carrier_receipts.py

## make kannel: Debian's kannel and kannel-extras (apt-get, as root or through sudo)
kannel:
	@if ! command -v apt-get >/dev/null 2>&1; then \
		echo "no apt-get here: install Kannel (bearerbox, smsbox, fakesmsc) by other means"; exit 1; fi
	@sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
		$$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kannel kannel-extras

$(NODE_CLIENT_STAMP): $(NODE_CLIENT)/package-lock.json
	cd $(NODE_CLIENT) && npm ci --no-audit --no-fund

lint: $(STAMP) $(if $(NPM),$(NODE_CLIENT_STAMP))
	$(if $(NPM),cd $(NODE_CLIENT) && npm run --silent lint,$(call NO_NPM,lint))
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/core/lisoloo admin/lisoloo_admin local bench
	$(BIN)/mypy clients/python/src/lisoloo_client clients/python/tests
	# every function's file is app.py, so each is its own mypy run (the cache keeps it quick)
	for handler in functions/*/app.py; do $(BIN)/mypy $$handler || exit 1; done

$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==$(SAM_VERSION)
	touch $(SAM_STAMP)

## make validate: `sam validate --lint` (needs no AWS credentials)
validate: $(SAM_STAMP)
	$(SAM) validate --lint --region us-east-1

## make build: `sam build` for the python3.13 runtime (pyenv's 3.13.0, no container), then artifact sizes
build: validate
	@started=$$(date +%s); PYENV_VERSION=3.13.0 $(SAM) build; echo "sam build: $$(( $$(date +%s) - started )) s"
	@du -sh .aws-sam/build/*/ | sort -h
	@du -sh .aws-sam/build

## make openapi: regenerate openapi.json from the functions' resolvers, then the TypeScript SDK's types
## from it (clients/node/src/schema.ts) where npm is installed; a test fails while either is stale
openapi: $(STAMP) $(if $(NPM),$(NODE_CLIENT_STAMP))
	$(BIN)/python -m local.openapi --output openapi.json
	$(if $(NPM),cd $(NODE_CLIENT) && npm run --silent generate,$(call NO_NPM,src/schema.ts not regenerated))

## make bench: the performance budget (DESIGN §4) measured: counted AWS requests and capacity units,
## timing ratios, cost per million recipients; prints one table and updates docs/benchmarks.md
bench: $(STAMP)
	$(BIN)/python -m bench

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
