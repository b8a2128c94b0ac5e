# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOTLINE := $(BIN)/hotline

.PHONY: run test install install-dev system-deps migration lint bench bench-deps vendor clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Debian packages the product and its tests use (ffmpeg, espeak-ng, chromium). Skips what is present.
system-deps:
	@scripts/system-deps.sh

run: install
	mkdir -p var
	$(HOTLINE) db upgrade
	$(HOTLINE) seed --demo-users
	$(HOTLINE) serve

## Import rules (docs/architecture.md), lint, dead code (vulture, pyproject's [tool.vulture]) and types.
lint: install-dev
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/vulture
	$(BIN)/mypy ticketing ami ivr asr agent_desk

test: install-dev system-deps lint
	$(BIN)/pytest $(PYTEST_ARGS)

## Regenerate the initial migration from the models (pre-1.0: a single initial revision).
migration: install-dev
	$(BIN)/python scripts/regen_migration.py

## The vendored chart library (agent_desk/static/vendor/echarts/), rebuilt from its npm lockfile.
vendor:
	scripts/vendor/echarts/build.sh

bench: install-dev
	$(BIN)/python bench/tickets.py
	$(BIN)/python bench/knowledge.py
	$(BIN)/python bench/ami.py
	$(BIN)/python bench/ivr.py
	$(BIN)/python bench/asr.py
	$(BIN)/python bench/screen_pop.py
	$(BIN)/python bench/reports.py

## Bench-only tools, never needed by the tests: wrk (bench/desk_wrk.py) and py-spy (bench/desk_served.py --py-spy).
bench-deps: install-dev
	@command -v wrk >/dev/null || { SUDO=; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; $$SUDO apt-get install -y -qq wrk; }
	$(BIN)/pip install -q py-spy

clean:
	rm -rf $(VENV) var .pytest_cache
