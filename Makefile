# udo: the README's two commands are `make demo` and `make test`.
# Both create .venv and install what is missing (pinned by constraints.txt), then run.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.udo-installed
PIP    := $(PY) -m pip --disable-pip-version-check
EXTRAS ?= dev,spark,pandas,mysql,postgres

.PHONY: install demo test unit lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"
	$(PIP) install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/udo demo

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

test: lint
	$(VENV)/bin/pytest -n 2 --durations=15

unit: install
	$(VENV)/bin/pytest tests/unit -q

bench: install
	$(PY) bench/generate.py
	$(PY) bench/small_path.py
	$(PY) bench/pipeline.py

clean:
	rm -rf $(VENV) udo-data .pytest_cache .mypy_cache .ruff_cache
