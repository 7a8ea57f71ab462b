# seawatch developer entry points. `make run` shows the product, `make test` is what CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.seawatch-installed

.PHONY: venv run test deps bench clean distclean

venv: $(STAMP)

# Re-installs only when pyproject.toml changes (or the venv is missing).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: seawatch needs Python >= 3.11, but '$(PYTHON)' is $$($(PYTHON) -V 2>&1 || echo missing)."; \
	  echo "       Install Python 3.11+ and run e.g. 'make PYTHON=python3.12 $(MAKECMDGOALS)'."; \
	  exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

# Generate a sample of a few hundred vessels in the Bay of Bengal, decode it, print a summary.
run: venv
	$(BIN)/seawatch demo

# gpsdecode (Debian gpsd-clients) is a reference decoder some tests compare against.
deps:
	@if command -v gpsdecode >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && apt-get install -y -qq gpsd-clients) \
	    || echo "note: could not install gpsd-clients; tests that compare with gpsdecode will skip"; \
	else \
	  echo "note: gpsdecode not found (Debian package gpsd-clients); tests that compare with it will skip"; \
	fi

test: deps venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q

# Decoder throughput against peer decoders; e.g. make bench BENCH_ARGS="--repeat 5 --peers pyais"
bench: venv
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python bench/decode.py $(BENCH_ARGS)

clean:
	rm -rf build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis data/out data/sample
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
