# `make run` serves ./spaces on the embedded defaults; `make test` runs the whole suite;
# `make bench [PEER=dmart] [BENCH_ARGS=...]` measures speed (never part of `make test`).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format clean bench

PEER ?=
BENCH_ARGS ?=

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/dmart-attach serve

lint: $(STAMP)
	$(BIN)/ruff format --check dmart_attach tests bench
	$(BIN)/ruff check dmart_attach tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff format dmart_attach tests bench
	$(BIN)/ruff check --fix dmart_attach tests bench

# wrk comes from Debian's packages; the Dmart peer (PEER=dmart) installs PostgreSQL and dmart itself.
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python -m bench.run $(if $(PEER),--peer $(PEER)) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
