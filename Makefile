# seawatch developer entry points. `make run` shows the product, `make test` is what CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.seawatch-installed

.PHONY: venv web run map test deps bench clean distclean

venv: $(STAMP)

# Re-installs only when pyproject.toml changes (or the venv is missing).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: seawatch needs Python >= 3.11, but '$(PYTHON)' is $$($(PYTHON) -V 2>&1 || echo missing)."; \
	  echo "       Install Python 3.11+ and run e.g. 'make PYTHON=python3.12 $(MAKECMDGOALS)'."; \
	  exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --no-compile -e '.[test]'
	@# pip byte-compiles what it installs on one core (~40 CPU-s); compileall does it on all of
	@# them. Some packages ship files that do not compile (templates, other Pythons' code):
	@# pip skips those silently, and so does this.
	@$(BIN)/python -m compileall -q -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" >/dev/null 2>&1 || true
	@touch $@

# A day of simulated traffic around India (300 vessels): labelled store, events, a situation
# summary and GeoJSON/KML/CoT exports in data/run/ (docs/run.md). Real files or a live feed:
# `seawatch run --help`. --out: here, under the checkout (seawatch's own default is the user's
# data directory). --federation: then the same traffic shared between three nodes in
# data/run/federation (IND ingests the coast stations, USA the satellite passes, JPN gets what
# is REL TO JPN) by sealed courier bundles, with what each node holds (docs/run.md).
# Then, in a terminal (or with SERVE=yes: `seawatch run --serve`), it serves the map on that
# data with a one-time sign-in link for the user `analyst` until Ctrl-C (docs/map.md); without
# a terminal, or with `make run SERVE=no` (`--no-serve`), it ends with the job.
SERVE ?= auto
SERVE_FLAG = $(if $(filter yes,$(SERVE)),--serve,$(if $(filter no,$(SERVE)),--no-serve))
run: venv web
	$(BIN)/seawatch run --out data/run --federation $(SERVE_FLAG)

# The map on `make run`'s data (docs/map.md): makes the user `analyst` (IND:SECRET) if it is
# missing, prints a one-time sign-in link (alone on the last line before the server starts;
# valid 10 minutes) and serves the node at http://127.0.0.1:8000 until Ctrl-C.
RUN_DB := data/run/seawatch.duckdb
$(RUN_DB):
	$(MAKE) run SERVE=no
map: venv web $(RUN_DB)
	@$(BIN)/seawatch users list --db $(RUN_DB) | grep -q '^analyst ' || \
	  $(BIN)/seawatch users add analyst --reader IND:SECRET --db $(RUN_DB) >/dev/null
	@echo "The map: open this link once, within 10 minutes (Ctrl-C stops the server):"
	@$(BIN)/seawatch users link analyst --db $(RUN_DB) --base-url http://127.0.0.1:8000 | tail -n 1
	$(BIN)/seawatch serve --db $(RUN_DB)

# The analyst's web map (web/, docs/map.md): npm installs exactly the lockfile, esbuild builds
# it into the package (src/seawatch/serve/web_dist, gitignored, shipped as package data),
# served by `seawatch serve` at /. Rebuilt only when its sources or the lockfile change.
WEB_DIST := src/seawatch/serve/web_dist
WEB_NODE := web/node_modules/.package-lock.json
WEB_SRC := $(wildcard web/src/*) web/build.mjs web/package.json
web: $(WEB_DIST)/index.html

$(WEB_NODE): web/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "error: the web map needs Node.js and npm (make deps as root installs them)"; exit 1; }
	npm --prefix web ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WEB_DIST)/index.html: $(WEB_SRC) $(WEB_NODE)
	npm --prefix web run --silent build

# System packages some tests need, installed with apt-get when run as root (CI is):
# gpsdecode (Debian gpsd-clients) is a reference decoder some tests compare against;
# PostgreSQL server + PostGIS (postgresql, postgresql-contrib, postgresql-postgis): the store
# tests start a throwaway server on a loopback port (tests/store/pgserver.py);
# Node.js and npm build the web map; chromium is the headless browser tests/web drive
# (through Python Playwright: no browser download, no chromium-driver needed).
# Elsewhere the tests that need them skip, saying why.
PG_INITDB := /usr/lib/postgresql/*/bin/initdb
PG_POSTGIS := /usr/share/postgresql/*/extension/postgis.control
deps:
	@missing=""; \
	command -v gpsdecode >/dev/null 2>&1 || missing="$$missing gpsd-clients"; \
	ls $(PG_INITDB) >/dev/null 2>&1 || missing="$$missing postgresql postgresql-contrib"; \
	ls $(PG_POSTGIS) >/dev/null 2>&1 || missing="$$missing postgresql-postgis"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian packages:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null) \
	    || echo "note: could not install$$missing; tests that need them will fail or skip"; \
	else \
	  echo "note: missing Debian packages$$missing (not root, or no apt-get): tests that compare"; \
	  echo "      with gpsdecode or need a PostgreSQL server or chromium will skip"; \
	fi

# As root with apt-get, deps installs PostgreSQL, so the PostgreSQL store tests must run:
# SEAWATCH_REQUIRE_POSTGRES=1 turns their skip (no server binaries) into a failure, and
# REQUIRE_CHROMIUM=1 the browser tests' skip (no Debian chromium).
# The suite runs on TEST_WORKERS processes (pytest-xdist), each taking a whole test file at a
# time (module fixtures such as a served node are made once), the most expensive files first
# (tests/file_costs.py); TEST_WORKERS=0 runs it in one process. Three on two cores: many
# files wait on a server, a browser, PostgreSQL or a Dask cluster, so a third worker fills
# those waits (2026-12-07, fresh clone: pytest 915-969 s against 1,037-1,113 s with two).
# Tests that touch a served node's store from their own thread take its writer lock
# (app.state.seawatch.lock), as the node's routes do: DuckDB's connection is one caller.
TEST_WORKERS ?= 3
REQUIRE_POSTGRES = $(shell [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && echo 1 || echo 0)

# The virtual environment and the web map's npm packages install side by side; then the
# compiled kernels are compiled into numba's cache once, beside the linters
# (tests/compile_kernels.py), not by every test process at once. seawatch's own modules
# are byte-compiled first: where PYTHONDONTWRITEBYTECODE is set (it is on our machines),
# every `seawatch` process a test starts would compile them again (~0.7 CPU-s each).
# pytest starts once the linters pass and collects the suite while the kernels finish
# compiling; its tests wait for $(WARMED) (tests/conftest.py: KERNELS_WARMED). So the
# warm-up is what the tests wait for: where it may (as root: CI), it runs at a higher
# priority than mypy and the three collecting workers beside it (renice -10), which then
# share the other core instead of taking part of its.
WARMED := $(VENV)/.kernels-warmed
test: deps
	@$(MAKE) --no-print-directory -j2 venv web
	@rm -f $(WARMED); \
	{ $(BIN)/python -m compileall -q src >/dev/null; $(BIN)/python tests/compile_kernels.py; \
	  touch $(WARMED); } & warm=$$!; \
	renice -n -10 -p $$warm >/dev/null 2>&1 || true; \
	npm --prefix web run --silent lint && npm --prefix web test && \
	  $(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && \
	  $(BIN)/lint-imports --no-cache || { rc=$$?; wait $$warm; exit $$rc; }; \
	KERNELS_WARMED=$(WARMED) \
	  SEAWATCH_REQUIRE_POSTGRES=$${SEAWATCH_REQUIRE_POSTGRES:-$(REQUIRE_POSTGRES)} \
	  REQUIRE_CHROMIUM=$${REQUIRE_CHROMIUM:-$(REQUIRE_POSTGRES)} $(BIN)/pytest -q \
	  $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder); \
	rc=$$?; wait $$warm; exit $$rc

# Decoder throughput against peer decoders; e.g. make bench BENCH_ARGS="--repeat 5 --peers pyais"
bench: venv
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python bench/decode.py $(BENCH_ARGS)

clean:
	rm -rf $(WEB_DIST) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis data/out data/sample data/run
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) web/node_modules
