# cloudenv: `make run` sets up and starts a node; `make test` sets up and runs every test.
PYTHON   ?= python3
VENV     ?= .venv
DATA_DIR ?= /var/lib/cloudenv
PORT     ?= 5007
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed

.PHONY: run test deps venv libvirt lint typecheck openapi check-openapi test-unit test-integration bench clean

run: deps venv libvirt ## Install everything, set up the node on first run, serve on :5007
	@if [ ! -f "$(DATA_DIR)/config.json" ]; then \
	  echo "First start: setting up $(DATA_DIR) (answer the installer's questions)."; \
	  $(BIN)/cloudenv init --data-dir "$(DATA_DIR)" $(INIT_FLAGS); \
	fi
	$(BIN)/cloudenv serve --data-dir "$(DATA_DIR)" --port $(PORT)

test: deps venv lint typecheck check-openapi libvirt ## Install everything and pass every test
	$(BIN)/pytest -q

deps: ## System packages (Debian)
	@scripts/install-system-deps.sh

venv: $(STAMP)

libvirt: deps ## Start libvirtd and virtlogd as a service manager would (no-op when running)
	@scripts/start-libvirt.sh

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

openapi: venv ## Regenerate the committed OpenAPI document after an API change
	$(BIN)/python -m cloudenv.api.openapi > docs/openapi.json

check-openapi: venv
	@$(BIN)/python -m cloudenv.api.openapi | diff -q - docs/openapi.json >/dev/null || \
	  { echo "docs/openapi.json is stale: run 'make openapi' and commit it."; exit 1; }

test-unit: venv
	$(BIN)/pytest -q -m "unit and not integration"

test-integration: deps venv libvirt
	$(BIN)/pytest -q -m integration

bench: deps venv libvirt ## Print latency figures (see bench/)
	$(BIN)/python bench/api_latency.py
	$(BIN)/python bench/deploy.py
	$(BIN)/python bench/ui_tree.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
