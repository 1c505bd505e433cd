.PHONY: test unit lint run up bench
test:            ## every gate: lint, types, contracts, unit and integration tests (what CI runs)
	scripts/test.sh
unit:            ## the fast loop: unit tests only
	scripts/bootstrap.sh && .venv/bin/pytest tests/unit
