# cloudenv: `make run` sets up and starts a node; `make test` sets up and runs every test.
PYTHON   ?= python3
VENV     ?= .venv
DATA_DIR ?= /var/lib/cloudenv
PORT     ?= 5007
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed

# Tests run on TEST_WORKERS xdist workers, a module (or a test class) on one worker, so the
# served node or booted guest its tests share is made once. Integration tests mostly wait
# on TCG guests and daemons, so there are more workers than cores.
TEST_WORKERS ?= 4
# The suite starts ~100 Python processes (xdist workers, every `cloudenv serve` and its API
# workers, the CLI) that import the same code: they write and reuse its bytecode (in the
# gitignored __pycache__) even where PYTHONDONTWRITEBYTECODE is set, rather than each
# compiling it again, and the workers reuse pytest's rewritten test modules.
PYTEST   := PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadscope

.PHONY: run test test-ready deps venv libvirt ovs checks lint typecheck openapi check-openapi test-unit test-integration bench clean

run: deps venv libvirt ovs ## Install everything, set up the node on first run, serve on :5007
	@if [ ! -f "$(DATA_DIR)/config.json" ]; then \
	  echo "First start: setting up $(DATA_DIR) (answer the installer's questions)."; \
	  $(BIN)/cloudenv init --data-dir "$(DATA_DIR)" $(INIT_FLAGS); \
	fi
	$(BIN)/cloudenv serve --data-dir "$(DATA_DIR)" --port $(PORT)

test: deps ## Install everything and pass every test
	@$(MAKE) --no-print-directory -j4 --output-sync=target test-ready
	$(PYTEST)

# What the tests need, made side by side (deps first: the rest may need its packages): the
# venv's and the UI's packages install at once, then lint, types and the OpenAPI check run
# alongside the UI's checks and build (named here, not through `checks`, whose own -j3 would
# not share this make's job slots).
test-ready: venv libvirt ovs lint typecheck check-openapi

checks: venv ## lint, typecheck and check-openapi side by side; fails if any fails
	@$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck check-openapi

deps: ## System packages (Debian)
	@scripts/install-system-deps.sh

venv: $(STAMP)

libvirt: deps ## Start libvirtd and virtlogd as a service manager would (no-op when running)
	@scripts/start-libvirt.sh

ovs: deps ## Start Open vSwitch (ovsdb-server, ovs-vswitchd) as its service would (no-op when running)
	@scripts/start-ovs.sh

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
	$(PYTEST) -m "unit and not integration"

test-integration: deps venv libvirt ovs
	$(PYTEST) -m integration

bench: deps venv libvirt ## Print latency figures (see bench/)
	$(BIN)/python bench/api_latency.py
	$(BIN)/python bench/deploy.py
	$(BIN)/python bench/ui_tree.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Web UI (frontend/: Vite + React + TypeScript) -------------------------------------------------
# Additions only: `run` serves the UI, so it builds it; `test` also type-checks and lints the
# frontend (failing when its API types are stale against docs/openapi.json) and builds it for
# the browser tests (tests/e2e), which pytest runs with the rest.
FRONTEND  := frontend
NPM_STAMP := $(FRONTEND)/node_modules/.installed
UI_INDEX  := src/cloudenv/ui/static/index.html
# Everything the build reads (the lockfile's packages aside, which NPM_STAMP stands for).
UI_SOURCES = $(shell find $(FRONTEND) -name node_modules -prune -o -type f -print 2>/dev/null)
# The browser tests use Debian's chromium: no npm or pip package may fetch its own browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: ui ui-check test-e2e clean-ui

run: ui
test-ready: ui-check ui
clean: clean-ui

ui: $(UI_INDEX) ## Build the web UI into src/cloudenv/ui/static (served at /)

# npm ci only when the lockfile changed since the last install (it empties node_modules).
$(NPM_STAMP): $(FRONTEND)/package-lock.json $(FRONTEND)/package.json | deps
	cd $(FRONTEND) && npm ci --no-audit --no-fund
	@mkdir -p $(@D) && touch $@

$(UI_INDEX): $(NPM_STAMP) $(UI_SOURCES)
	cd $(FRONTEND) && npm run build
	@mkdir -p $(@D) && touch $@

ui-check: $(NPM_STAMP) ## API types current, TypeScript compiles, eslint clean
	cd $(FRONTEND) && npm run check-types && npm run typecheck && npm run lint

test-e2e: deps venv libvirt ovs ui ## Only the browser tests of the web UI
	$(PYTEST) -m e2e

clean-ui:
	rm -rf $(FRONTEND)/node_modules src/cloudenv/ui/static
