# The two commands a newcomer needs: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "MendCRM needs Python 3.11 or newer: run make PYTHON=python3.11 …")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,demo,bench]'
	@touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check mendcrm plugins tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check mendcrm plugins tests bench
	$(BIN)/ruff format --check mendcrm plugins tests bench
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/mendcrm demo $(DEMO_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Real pretalx schedule exports for the programme tests: pretalx in its own virtualenv, a
# throw-away SQLite database, two released schedule versions. Not part of `make test`.
PRETALX_VENV ?= build/pretalx-venv
PRETALX_DATA ?= build/pretalx-data
PRETALX_OUT  ?= tests/fixtures/programmes/pretalx

.PHONY: fixtures
fixtures:
	$(PYTHON) -m venv $(PRETALX_VENV)
	$(PRETALX_VENV)/bin/python -m pip install --quiet pretalx
	rm -rf $(PRETALX_DATA) && mkdir -p $(PRETALX_DATA)/data
	printf '[filesystem]\ndata = %s/data\n[database]\nbackend = sqlite3\n[site]\nurl = http://localhost\n' "$(abspath $(PRETALX_DATA))" > $(PRETALX_DATA)/pretalx.cfg
	PRETALX_CONFIG_FILE=$(abspath $(PRETALX_DATA))/pretalx.cfg $(PRETALX_VENV)/bin/python -m pretalx migrate --no-input
	PRETALX_CONFIG_FILE=$(abspath $(PRETALX_DATA))/pretalx.cfg $(PRETALX_VENV)/bin/python tests/fixtures/programmes/make_pretalx_exports.py $(PRETALX_OUT)
