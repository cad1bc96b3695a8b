# Linli — `make run` serves the API on the embedded default; `make test` runs lint, types and tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install migrate lint typecheck pytest makemigrations openapi loadtest worker clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/linli migrate

run: migrate
	$(BIN)/linli serve

worker: install
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

openapi: install
	$(BIN)/linli openapi

makemigrations: install
	$(BIN)/tortoise -c app.tortoise_conf.TORTOISE_ORM makemigrations

# The flash-peak locust scenario against a real server (PostgreSQL + Redis when LINLI_DATABASE_URL and
# LINLI_REDIS_URL are set, else the embedded default), then the oversell/drain verification.
loadtest: install
	$(BIN)/python -m loadtests.run_flash $(LOADTEST_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
