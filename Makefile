# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt check-plans bench docs screenshots clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The null provider 2.1.2 for the Terraform 1.0.3 end-to-end tests (they skip, saying so, without it)
NULL_PROVIDER := .tf-cache/mirror/registry.terraform.io/hashicorp/null/2.1.2/linux_amd64/terraform-provider-null_v2.1.2_x4

$(NULL_PROVIDER): | $(STAMP)
	$(BIN)/python tools/fetch_null_provider.py || echo "warning: null provider not fetched; the Terraform 1.0.3 tests will skip"

## run: start the signalbox server with examples/signalbox.toml (SQLite, no other service)
run: $(STAMP)
	$(BIN)/python -m signalbox.cli.run_example

## test: lint, type-check and run the whole suite (PostgreSQL tests run when SIGNALBOX_TEST_DATABASE_URL is set)
test: $(STAMP) lint $(NULL_PROVIDER)
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench tools
	$(BIN)/ruff check --fix src tests bench tools

## check-plans: the offline plan report on the examples
check-plans: $(STAMP)
	$(BIN)/python -m signalbox.cli.run_example check-plans

## bench: every benchmark in bench/ (several minutes; figures and ratios in docs/benchmarks.md)
bench: $(STAMP)
	$(BIN)/python bench/plan_check.py
	$(BIN)/python bench/server.py
	$(BIN)/python bench/gate_wait.py
	$(BIN)/python bench/incident_freeze.py
	$(BIN)/python bench/tfstate.py
	$(BIN)/python bench/board.py
	$(BIN)/python bench/notify.py

## screenshots: the browser tests, writing their screenshots to docs/*.png (for the README)
screenshots: $(STAMP)
	SIGNALBOX_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/web/test_*_browser.py

## docs: regenerate the generated reference pages (a test fails when they are stale)
docs: $(STAMP)
	$(BIN)/python tools/gen_cli_docs.py > docs/cli.md
	$(BIN)/python tools/gen_settings_doc.py > docs/settings.md
	$(BIN)/python tools/gen_errors_doc.py > docs/errors.md
	$(BIN)/python tools/gen_events_doc.py > docs/events.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
