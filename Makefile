# Linli — `make run` serves the API on the embedded default; `make test` runs lint, types and tests.
# Two stamps: serving needs the runtime dependencies only (`pip install -e .`); testing, linting and
# load tests add the dev extra on top.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP     := $(VENV)/.dev-stamp

.PHONY: run demo test install install-runtime migrate lint typecheck pytest makemigrations openapi loadtest \
	fuzz chaos mutants worker clean

$(RUNTIME_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(DEV_STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

install-runtime: $(RUNTIME_STAMP)

install: $(DEV_STAMP)

migrate: install-runtime
	$(BIN)/linli migrate

run: migrate
	$(BIN)/linli serve

# A demo city to try every scenario on (idempotent); then `make run`.
demo: migrate
	$(BIN)/linli demo

worker: install-runtime
	$(BIN)/linli worker

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy app merchants loyalty campaigns miniprogram_api

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

openapi: install-runtime
	$(BIN)/linli openapi

makemigrations: install-runtime
	$(BIN)/tortoise -c app.tortoise_conf.TORTOISE_ORM makemigrations

# The flash-peak locust scenario against a real server (PostgreSQL + Redis when LINLI_DATABASE_URL and
# LINLI_REDIS_URL are set, else the embedded default), then the oversell/drain verification.
loadtest: install
	$(BIN)/python -m loadtests.run_flash $(LOADTEST_ARGS)

# schemathesis against a live `linli serve` (embedded default in a temporary directory unless
# LINLI_DATABASE_URL and LINLI_REDIS_URL are set): every operation, a token per audience, fixed seed;
# fails on any 5xx. FUZZ_ARGS="--examples 50 --only /ops/v1/campaigns" for more or fewer cases.
fuzz: install
	$(BIN)/python -m loadtests.fuzz $(FUZZ_ARGS)

# Faults under load on PostgreSQL (LINLI_DATABASE_URL, else the local `test` database) and a Redis server of
# its own on a spare port: a flash sale through worker SIGKILLs, FLUSHALL, a Redis kill-and-restart and
# backend terminations, then a till burst under backend terminations; fails on any lost, duplicated or
# wrong answer. CHAOS_ARGS="--members 2000 --stock 1500" for a bigger crowd.
chaos: install
	$(BIN)/python -m loadtests.chaos $(CHAOS_ARGS)

# Mutation testing (mutmut) of the modules listed under [tool.mutmut] in pyproject.toml, against their
# tests (the embedded default unless LINLI_TEST_DATABASE_URL/LINLI_TEST_REDIS_URL are set); the survivors
# are listed at the end and discussed in docs/testing.md. Not in CI: it takes minutes per module.
mutants: install
	rm -rf mutants
	$(BIN)/mutmut run || true
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache mutants
