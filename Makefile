# Each target installs what is missing first, so on a fresh clone it is the only command needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export BG_AGENTS_HOME ?= $(CURDIR)/.bg_agents

.PHONY: install lock test-fresh demo dev defs test lint bench clean

# Installs the exact versions in requirements.lock (hash-checked), then the project itself.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## lock: re-resolve pyproject.toml's ranges into requirements.lock (and the bench lock)
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes --universal \
		--python-version 3.11 --upgrade -q -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra test --extra bench --generate-hashes \
		--universal --python-version 3.11 --upgrade -q -o requirements-bench.lock

## test-fresh: before a release, the suite against today's newest versions within the ranges
test-fresh:
	rm -rf .venv-fresh
	$(PYTHON) -m venv .venv-fresh
	.venv-fresh/bin/python -m pip install -q --upgrade pip
	.venv-fresh/bin/python -m pip install -q -e '.[test]'
	.venv-fresh/bin/pytest -p no:cacheprovider

$(DAGSTER_HOME)/dagster.yaml: dagster.local.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.local.yaml $@

## demo: migrate, seed simulated data and materialize every partition (embedded defaults)
demo: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/bg-agents demo

## dev: the Dagster UI and daemon (schedules and sensors) on http://127.0.0.1:$(PORT) (3000 unless
## PORT= says otherwise, e.g. `make dev PORT=3001` when 3000 is taken)
PORT ?= 3000
dev: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/bg-agents db upgrade
	BG_AGENTS_DAGSTER_URL=$${BG_AGENTS_DAGSTER_URL:-http://127.0.0.1:$(PORT)} \
		VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg dev --host 127.0.0.1 --port $(PORT)

## defs: check that the definitions load (dg check defs), then list every asset, job, schedule,
## sensor and resource the defs folder provides (dg list defs)
defs: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg list defs

## test: the whole suite (PostgreSQL tests run when the server is reachable; CI requires them)
# Three worker processes, each taking whole files (module fixtures are built once): on 2 cores a
# third keeps them busy while the integration tests wait on their webserver, daemon and workers
# (measured on a fresh clone: 7 min 42 s with three, 10 min 10 s with two). TEST_WORKERS=0 runs
# in this process, e.g. to debug with pdb.
TEST_WORKERS ?= 3
test: $(STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

## lint: ruff, then the layout's import contracts (pyproject.toml [tool.importlinter])
lint: $(STAMP)
	$(BIN)/ruff check bg_agents bg_agents_tests benchmarks
	$(BIN)/ruff format --check bg_agents bg_agents_tests benchmarks
	$(BIN)/lint-imports

## bench: the benchmarks behind the README's tables (each prints machine, numbers and ratios)
bench: $(STAMP)
	$(BIN)/python -m pip install -q --require-hashes -r requirements-bench.lock
	PYTHONPATH=. $(BIN)/python benchmarks/ingest_and_metrics.py
	PYTHONPATH=. $(BIN)/python benchmarks/ingest_and_metrics.py --db postgres
	PYTHONPATH=. $(BIN)/python benchmarks/insights.py
	PYTHONPATH=. $(BIN)/python benchmarks/matching.py --profile learned
	PYTHONPATH=. $(BIN)/python benchmarks/matching.py --profile seed
	PYTHONPATH=. $(BIN)/python benchmarks/matching_transfers.py
	PYTHONPATH=. $(BIN)/python benchmarks/bank_files.py
	PYTHONPATH=. $(BIN)/python benchmarks/camt_references.py
	PYTHONPATH=. $(BIN)/python benchmarks/notifications.py
	PYTHONPATH=. $(BIN)/python benchmarks/notifications.py --db postgres
	PYTHONPATH=. $(BIN)/python benchmarks/enrichment.py --labelled benchmarks/data/descriptors_heldout.csv
	PYTHONPATH=. $(BIN)/python benchmarks/enrichment.py
	PYTHONPATH=. $(BIN)/python benchmarks/enrichment_speed.py
	PYTHONPATH=. $(BIN)/python benchmarks/enrichment_model_calls.py
	PYTHONPATH=. $(BIN)/python benchmarks/enrichment_days.py
	PYTHONPATH=. $(BIN)/python benchmarks/enrichment_days.py --db postgres

clean:
	rm -rf .bg_agents .dagster_home
