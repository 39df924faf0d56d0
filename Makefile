# The two commands of the quickstart: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint typecheck unit browser-deps postgres-deps screenshots bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned to the CPU build on this disk, so no extra ever pulls a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[all,dev]'
	# Sematic's own wheel (not installed): the compatibility tests run its shipped examples.
	$(PY) -m pip download --quiet --no-deps --dest .cache/wheels sematic==0.41.0
	# pandas 2 beside the virtualenv, for Sematic's liver_cirrhosis example, which pandas 3 breaks
	# (it changes columns through chained inplace calls); only that example's test uses it.
	$(PY) -m pip install --quiet --no-deps --target .cache/pandas2 "pandas>=2.2,<3" pytz
	touch $@

demo: $(INSTALLED)
	$(PY) -m examples.demo

test: $(INSTALLED) browser-deps postgres-deps lint typecheck unit

lint: $(INSTALLED)
	$(VENV)/bin/ruff check loopline tests examples benchmarks tools
	$(VENV)/bin/ruff format --check loopline tests examples benchmarks tools
	$(VENV)/bin/lint-imports

typecheck: $(INSTALLED)
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy tools

unit: $(INSTALLED)
	$(VENV)/bin/pytest

# Browser tests need Debian's chromium; installed here when running as root (CI), else they skip.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# The PostgreSQL tests start their own server from Debian's binaries.
postgres-deps:
	@if [ ! -x /usr/lib/postgresql/15/bin/initdb ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing postgresql for the storage tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

bench: $(INSTALLED)
	$(PY) -m benchmarks.run_all

# Refresh the dashboard screenshots the README shows (needs Debian's chromium).
screenshots: $(INSTALLED) browser-deps
	$(PY) -m tools.screenshots docs/screenshots

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
