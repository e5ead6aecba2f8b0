# Shortcuts for developers; the README's commands are scripts/run and scripts/test (no make needed).
.PHONY: run test openapi clean

run:
	./scripts/run

test:
	./scripts/test

## Rewrite the committed OpenAPI snapshot after a deliberate API change.
openapi:
	.venv/bin/openbooking openapi > openapi.json

clean:
	rm -rf .venv var .pytest_cache .mypy_cache .ruff_cache
