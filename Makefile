# Pipeline CRM. `make run` serves the app with demo data; `make test` runs the whole suite.
# Without DATABASE_URL both use an embedded PostgreSQL in .pgdata/ (pipeline_crm/devdb.py).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium
# Local commands run with DEBUG on, unless the environment says otherwise or a .env exists
# (then .env is the configuration; see .env.example).
ifeq ($(wildcard .env),)
export DEBUG ?= true
endif

.PHONY: run test lint format bench load fuzz install install-dev browser db-stop clean

run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Pipeline CRM is starting on http://127.0.0.1:8000/ (log in with a demo login above)."
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(VENV)/.installed-dev browser
	$(BIN)/python -m pytest

# Hostile input at length: the property-based tests of tests/fuzz with many more examples
# than `make test` runs (FUZZ_EXAMPLES, default 500 each).
fuzz: $(VENV)/.installed-dev
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(BIN)/python -m pytest tests/fuzz

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

# The speed budget (DESIGN.md): fills its own database to 100,000 projects and 1,000,000
# transitions (once; a few minutes), then prints each page's time and query count.
# `make bench PROJECTS=1000000` fills another database ten times the size (once; an hour).
PROJECTS ?= 100000
BENCH_DB := pipeline_crm_bench$(if $(filter 100000,$(PROJECTS)),,_$(PROJECTS))
bench: $(VENV)/.installed
	@url="$${BENCH_DATABASE_URL:-$$($(BIN)/python -m pipeline_crm.devdb url $(BENCH_DB))}"; \
	export DATABASE_URL="$$url" DEBUG=false SECRET_KEY=bench ALLOWED_HOSTS=testserver \
		SECURE_SSL_REDIRECT=false; \
	$(BIN)/python manage.py migrate --noinput -v0 && \
	$(BIN)/python manage.py collectstatic --noinput -v0 && \
	$(BIN)/python manage.py bench --projects $(PROJECTS)

# Under load as in production: gunicorn (2 x cores + 1 workers, DEBUG off) on loopback, and
# 20 then 50 users (LOAD_USERS) for 60 s each (LOAD_SECONDS) from a second process; then
# checks that every confirmed move and edit is in the database: 0 lost updates, or it fails.
# It loads a fresh copy (pipeline_crm_load) of the bench database, filled first if need be;
# with LOAD_DATABASE_URL, that database as it is (its name must say "load": it is written
# to, its users' passwords too).
load: $(VENV)/.installed
	@export DEBUG=false SECRET_KEY=load ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=false; \
	if [ -n "$${LOAD_DATABASE_URL:-}" ]; then \
		export DATABASE_URL="$$LOAD_DATABASE_URL"; copy=""; \
	else \
		export DATABASE_URL="$${BENCH_DATABASE_URL:-$$($(BIN)/python -m pipeline_crm.devdb url pipeline_crm_bench)}"; \
		copy="--copy-to=pipeline_crm_load"; \
	fi; \
	$(BIN)/python manage.py migrate --noinput -v0 && \
	$(BIN)/python manage.py collectstatic --noinput -v0 && \
	if [ -n "$$copy" ]; then $(BIN)/python manage.py bench --fill-only; fi && \
	$(BIN)/python manage.py load $$copy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.installed

# Browser tests drive Debian's Chromium. Install it when we can (root with apt-get); otherwise
# the browser tests are skipped with a loud message (and fail under CI=true).
browser:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Chromium for the browser tests (apt-get install chromium)..."; \
		apt-get install -y -qq chromium >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || true; \
	fi; \
	if [ ! -x "$(CHROMIUM)" ]; then \
		echo "!!! Chromium is not at $(CHROMIUM) and could not be installed: the browser tests will be SKIPPED. !!!"; \
	fi

db-stop:
	$(BIN)/python -m pipeline_crm.devdb stop

clean: db-stop
	rm -rf $(VENV) staticfiles test-results
