# The two commands of the README: `make run` and `make test`. Both are idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/isseg

.PHONY: run test setup system-packages assets venv messages migrate pki seed lint checks pytest pytest-postgres bench clean

run: export DJANGO_DEBUG = 1
run: setup seed
	bin/run-portal

test: setup lint checks pytest pytest-postgres

setup: system-packages assets venv messages migrate pki

system-packages:
	@bin/system-packages

# Front-end packages (htmx) from npm, exactly as package-lock.json pins them; Django serves them
# from node_modules (STATICFILES_DIRS). npm ci writes node_modules/.package-lock.json, so it runs
# again only when package-lock.json is newer.
node_modules/.package-lock.json: package-lock.json | system-packages
	npm ci --no-audit --no-fund
	touch $@

assets: node_modules/.package-lock.json

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

messages: venv
	DJANGO_DEBUG=1 $(PY) manage.py compilemessages --ignore=$(VENV) --ignore=node_modules -v0

migrate: venv
	DJANGO_DEBUG=1 $(PY) manage.py migrate --no-input -v0
	DJANGO_DEBUG=1 $(PY) manage.py createcachetable

# The demo PKI's keys (generated once, kept in var/demo_pki, never committed) and trust store.
pki: venv
	DJANGO_DEBUG=1 $(PY) manage.py demo_pki setup

seed: migrate pki
	DJANGO_DEBUG=1 $(PY) manage.py seed_demo --full

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# No missing migration; production settings (as README's "Producción" sets them: PostgreSQL,
# Redis, the institute's seal) pass Django's deployment checklist and the portal's own checks.
# `check` only reads DATABASE_URL and CACHE_URL; it connects to neither.
checks: venv
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=prestamos.example.gob.mx \
	DJANGO_SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	DATABASE_URL=postgres://isseg@db.interno:5432/isseg DATABASE_POOL=1 \
	CACHE_URL=redis://cache.interno:6379/0 \
	SIGNATURES_SEAL_PKCS12=/etc/isseg/sello.p12 SIGNATURES_SEAL_PASSWORD=no-es-el-demo \
	  $(PY) manage.py check --deploy --fail-level WARNING

# Each pass spreads its tests over PYTEST_WORKERS processes (pytest-xdist), each with its own test
# database; PYTEST_WORKERS=0 runs them in this one. --dist loadgroup keeps the tests that share one
# seeding (their xdist_group mark) in one process and hands out the others in pytest-django's
# order, so each process still runs the transactional tests after the others.
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL = -n $(PYTEST_WORKERS) --dist loadgroup

pytest: venv
	env -u DATABASE_URL $(VENV)/bin/pytest $(PYTEST_PARALLEL)

# Runs when DATABASE_URL names PostgreSQL or a local PostgreSQL answers on 127.0.0.1:5432;
# REQUIRE_POSTGRES=1 (set by .ci/run) turns "no PostgreSQL" into a failure.
pytest-postgres: venv
	@url="$${DATABASE_URL:-}"; \
	if [[ "$$url" != postgres* ]]; then \
	  if $(PY) -c 'import socket; socket.create_connection(("127.0.0.1", 5432), 2)' 2>/dev/null; then \
	    url="$(PG_URL)"; \
	  elif [[ "$${REQUIRE_POSTGRES:-0}" == 1 ]]; then \
	    echo "PostgreSQL no responde en 127.0.0.1:5432 y REQUIRE_POSTGRES=1" >&2; exit 1; \
	  else \
	    echo "PostgreSQL no disponible: se omite la pasada de pruebas sobre PostgreSQL."; exit 0; \
	  fi; \
	fi; \
	echo "Pruebas sobre PostgreSQL ($${url%%@*}@...)"; \
	DATABASE_URL="$$url" $(VENV)/bin/pytest -p no:cacheprovider $(PYTEST_PARALLEL)

# Benchmarks (bench/README.md): every figure with its target, written to BENCHMARKS.md. Not part
# of CI's pass or fail. BENCH_ARGS=--quick for small sizes; the full run takes 20-40 minutes.
BENCH_ARGS ?=
bench: setup
	@bin/system-packages wrk
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache .ruff_cache
