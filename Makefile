# ModelWatch: `make run` for the embedded demo, `make test` for the full suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
MODELWATCH_DEMO_WEBHOOK_PORT ?= 9009
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/modelwatch
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test venv dev-venv services lint bench-ingest clean

SDK_SOURCES := $(shell find modelwatch -name '*.py' -o -name pyproject.toml 2>/dev/null)

$(VENV)/.runtime: requirements.txt $(SDK_SOURCES)
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q --no-compile -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.runtime
dev-venv: $(VENV)/.dev

## run: migrate and start web + worker + beat, which load the demo (Ctrl-C stops them all)
# The demo is loaded by bin/run-embedded's `seed_demo --follow`, while the web server and
# the worker start: its alerts fire sooner than after a seed that runs first.
run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	PORT=$(PORT) MODELWATCH_DEMO_WEBHOOK_PORT=$(MODELWATCH_DEMO_WEBHOOK_PORT) bin/run-embedded

## services: start PostgreSQL and Redis when installed but stopped
services:
	bin/start-services

## test: the whole suite on PostgreSQL + Redis + a real Celery worker, then again on SQLite
## (all but the tests that need a Celery worker, Chromium, a throwaway cluster or a fuzz budget)
test: dev-venv services
	-bin/install-browser
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(VENV)/bin/pytest -p no:cacheprovider
	MODELWATCH_DATA_DIR=$$(mktemp -d) CELERY_BROKER_URL=memory:// \
		$(VENV)/bin/pytest -p no:cacheprovider -m "not celery and not browser" \
		--ignore=tests/faults --deselect tests/reliability/test_api_fuzz.py \
		--deselect tests/monitor_site/test_make_run.py

## lint: one format (ruff format, 100 columns) and ruff's checks; CI runs it before the tests
lint: dev-venv
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

bench-ingest: dev-venv services
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) bench/ingest_metrics.py

.PHONY: bench-dashboard
## bench-dashboard: dashboard server time and bytes at 30 d / 365 d vs shipping every point
bench-dashboard: dev-venv services
	$(PY) bench/dashboard.py

clean:
	rm -rf $(VENV) var
