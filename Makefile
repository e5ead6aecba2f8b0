# The two commands a new user needs: `make run` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck pytest openapi bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

## Start the server on SQLite (var/openbooking.db) with the demo business loaded once.
run: $(STAMP)
	$(BIN)/openbooking db upgrade
	$(BIN)/openbooking demo
	$(BIN)/openbooking serve

## Lint, type-check and run the whole test suite (PostgreSQL too when OPENBOOKING_TEST_POSTGRES_URL is set).
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# pytest exits 5 when it collected nothing: that is a failure here, never a silent pass.
pytest: $(STAMP)
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest ran no tests: failing" >&2; exit 1; fi; exit $$rc

## Rewrite the committed OpenAPI snapshot after a deliberate API change.
openapi: $(STAMP)
	$(BIN)/openbooking openapi > openapi.json

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
