# udo: the README's two commands are `make demo` and `make test`.
# Both create .venv and install what is missing (pinned by constraints.txt), then run.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.udo-installed
PIP    := $(PY) -m pip --disable-pip-version-check
EXTRAS ?= dev,spark,pandas,mysql,postgres,azure

WEB_STAMP := web/node_modules/.udo-installed
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install demo test unit lint format bench clean up web web-lint web-test chromium e2e azurite

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"
	$(PIP) install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/udo demo

lint: install web-lint
	$(VENV)/bin/ruff check src tests bench cloud
	$(VENV)/bin/ruff format --check src tests bench cloud
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy cloud/azure/functions/function_app.py cloud/azure/databricks/udo_job.py

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $(WEB_STAMP)

web: $(WEB_STAMP)
	cd web && npm run build

web-lint: $(WEB_STAMP)
	cd web && npm run lint

web-test: $(WEB_STAMP)
	cd web && npm test

# The Azure Storage emulator (blob + queue) the Azure tests start, pinned by its lock file.
AZURITE_STAMP := tools/azurite/node_modules/.udo-installed
$(AZURITE_STAMP): tools/azurite/package.json tools/azurite/package-lock.json
	cd tools/azurite && npm ci --no-audit --no-fund
	@touch $(AZURITE_STAMP)

azurite: $(AZURITE_STAMP)

# Debian's Chromium for the browser tests: nothing downloads a browser at run time.
chromium:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

up: install web
	$(VENV)/bin/udo up

e2e: install web chromium
	$(VENV)/bin/pytest tests/e2e/test_ui.py -v

format: install
	$(VENV)/bin/ruff format src tests bench cloud
	$(VENV)/bin/ruff check --fix src tests bench cloud

test: lint web-test web chromium azurite
	$(VENV)/bin/pytest -n 2 --durations=15

unit: install
	$(VENV)/bin/pytest tests/unit -q

bench: install
	$(PY) bench/generate.py
	$(PY) bench/small_path.py
	$(PY) bench/pipeline.py

clean:
	rm -rf $(VENV) udo-data .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist tools/azurite/node_modules
