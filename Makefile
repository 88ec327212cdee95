# Two commands: `make serve` (set up, build, serve at http://127.0.0.1:8000; `make serve PORT=8080`) and `make test`.
# `make serve` installs only what serving needs; `make test` adds the test extras (pytest, playwright, schemathesis).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.installed-test-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000
SITE   ?= site
INDEX  ?= .kb/index

.PHONY: install install-serve build serve dev test check bench browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

# a developer's set-up: everything, tests included
install: $(TEST_STAMP)

install-serve: $(STAMP)

build: install-serve
	$(BIN)/kb build --site-dir $(SITE) --index-dir $(INDEX)

serve: build
	$(BIN)/kb serve --host $(HOST) --port $(PORT) --site-dir $(SITE) --index-dir $(INDEX)

dev: install-serve
	$(BIN)/kb serve --watch --host $(HOST) --port $(PORT)   # writes .kb/preview/, never $(SITE)

check: install-serve
	$(BIN)/kb check content

# Browser tests use Debian's chromium (and CJK fonts so Chinese renders in screenshots).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing chromium and fonts-noto-cjk (apt-get)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
		else \
			echo "chromium not installed and cannot apt-get: browser tests will skip"; \
		fi; \
	fi

test: install browser
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python scripts/bench_check.py
	$(BIN)/python scripts/bench_search.py
	$(BIN)/python scripts/bench_static.py
	$(BIN)/python scripts/bench_api.py
	$(BIN)/python scripts/bench_live.py
	$(BIN)/python scripts/bench_import.py
	$(BIN)/python scripts/bench_build.py
	$(BIN)/python scripts/bench_index_update.py

clean:
	rm -rf $(SITE) .$(SITE)-versions .$(SITE).* .kb build .pytest_cache
