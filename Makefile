# Shortcuts for developers; the README's commands are scripts/run and scripts/test (no make needed).
.PHONY: run test openapi business-schema clean

run:
	./scripts/run

test:
	./scripts/test

## Rewrite the committed OpenAPI snapshot after a deliberate API change.
openapi:
	.venv/bin/openbooking openapi > openapi.json

## Rewrite the committed business-file JSON Schema after changing business/schemas.py.
business-schema:
	.venv/bin/openbooking business-schema > docs/business-file.schema.json

clean:
	rm -rf .venv var .pytest_cache .mypy_cache .ruff_cache
