# lunas — the two commands that set everything up: `make run` and `make test`.
# `make` bootstraps uv into .tools/ with the machine's python3 and builds .venv from uv.lock.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION ?= 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced

.PHONY: run test test-unit test-integration lint bench bench-quick chaos chaos-quick clean-data

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --extra embedded --python $(PYTHON)
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/lunas run $(ARGS)

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(VENV)/bin/python -m pytest tests/unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check services schemas tests bench chaos examples
	$(VENV)/bin/ruff format --check services schemas tests bench chaos examples
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/python -m bench $(ARGS)

bench-quick: $(STAMP)
	$(VENV)/bin/python -m bench --quick $(ARGS)

clean-data:
	rm -rf .lunas

chaos: $(STAMP)
	$(VENV)/bin/python -m chaos $(ARGS)

chaos-quick: $(STAMP)
	$(VENV)/bin/python -m chaos --quick $(ARGS)
