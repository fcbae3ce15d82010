# The two commands a newcomer runs are `make run` and `make test`.
# Every install step lives here so a fresh clone (and CI) gets the same machine.

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PORT ?= 8501

.PHONY: run test lint docs docs-serve bench fmt clean system-deps

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# The package (editable) with every extra, re-run when the dependency lists change or
# the C part of the MDL writer does (pip builds it in place; see setup.py).
# Dependencies are declared in pyproject.toml; requirements.txt is `-e .[all]`.
$(VENV)/.deps-run: requirements.txt pyproject.toml setup.py moments_core/mdl/_writer.c | $(PY)
	$(PIP) install --quiet -r requirements.txt
	touch $@

# Test, lint and docs tools on top of the runtime, and the core's wheels for the
# core-only install test (tests/test_packaging.py installs from them offline).
$(VENV)/.deps-dev: requirements-dev.txt $(VENV)/.deps-run $(VENV)/wheels-core/.built
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/wheels-core/.built: pyproject.toml setup.py moments_core/mdl/_writer.c | $(PY)
	rm -rf $(VENV)/wheels-core
	$(PIP) wheel --quiet --wheel-dir $(VENV)/wheels-core .
	touch $@

# Debian packages the browser tests need (Chromium; Playwright's Python wheel
# carries its driver, and we never download a browser of its own).
system-deps:
	@command -v chromium >/dev/null 2>&1 && test -d /usr/share/fonts/truetype/noto || { \
		echo "installing chromium and fonts from Debian"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium fonts-noto-color-emoji fonts-noto-core >/dev/null; }

run: $(VENV)/.deps-run
	$(VENV)/bin/streamlit run serve.py --server.port $(PORT) --server.headless true

# Lint, then the docs (strict: a broken link fails), then the suite.
test: $(VENV)/.deps-dev system-deps
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory docs
	$(PY) -m pytest --durations=10

lint: $(VENV)/.deps-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The settings table and benchmark figures are included from generated files (see
# docs/hooks.py and benchmarks/figures.py); the site lands in site/.
docs: $(VENV)/.deps-dev
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site

docs-serve: $(VENV)/.deps-dev
	$(VENV)/bin/mkdocs serve

bench: $(VENV)/.deps-dev
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis site
