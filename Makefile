# lunas — the two commands that set everything up: `make run` and `make test`.
# `make` bootstraps uv into .tools/ with the machine's python3 and builds .venv from uv.lock.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION ?= 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced

.PHONY: run test test-kafka test-unit test-integration lint bench bench-quick chaos chaos-quick clean-data

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

# The Kafka leg: every test that talks to a broker (integration, end-to-end, browser) against a
# stock Apache Kafka broker (README, "Against Apache Kafka"); the unit tests use none. With
# LUNAS_KAFKA_BOOTSTRAP_SERVERS set they use that broker (one for tests only: it is emptied before
# each test); else the stock-kafka tool (LUNAS_STOCK_KAFKA, or ../shared/tools/stock-kafka) starts
# Kafka 2.3.0 under .lunas/stock-kafka. Left out: the notify outage tests, which start a notify_svc
# of their own in group lunas.notify while the package's shared notify_svc (tests/integration/
# notify/conftest.py `stack`) is a live member of it, so emptying the shared broker cannot delete
# that group (docs/KAFKA.md).
KAFKA_TESTS ?= tests/integration tests/e2e tests/browser \
	--ignore=tests/integration/notify/test_notify_outage.py
STOCK_KAFKA ?= $(firstword $(wildcard $(LUNAS_STOCK_KAFKA) ../shared/tools/stock-kafka/stock-kafka \
	/work/shared/tools/stock-kafka/stock-kafka))
KAFKA_DIR ?= $(CURDIR)/.lunas/stock-kafka

test-kafka: $(STAMP)
	@if [ -n "$$LUNAS_KAFKA_BOOTSTRAP_SERVERS" ]; then \
	  exec $(VENV)/bin/python -m pytest $(KAFKA_TESTS) $(PYTEST_ARGS); fi; \
	tool="$(STOCK_KAFKA)"; \
	[ -n "$$tool" ] || { echo "test-kafka: no stock-kafka tool; set LUNAS_STOCK_KAFKA" >&2; exit 1; }; \
	trap '"$$tool" stop "$(KAFKA_DIR)"' EXIT; \
	boot=$$("$$tool" start "$(KAFKA_DIR)" | awk '/^bootstrap /{print $$2}'); \
	[ -n "$$boot" ] || { echo "test-kafka: Kafka did not start" >&2; exit 1; }; \
	echo "test-kafka: Apache Kafka at $$boot"; \
	LUNAS_KAFKA_BOOTSTRAP_SERVERS=$$boot $(VENV)/bin/python -m pytest $(KAFKA_TESTS) $(PYTEST_ARGS)

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
