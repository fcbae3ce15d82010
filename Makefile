# The two commands a newcomer runs are `make run` and `make test`.
# Every install step lives here so a fresh clone (and CI) gets the same machine.

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PORT ?= 8501

.PHONY: run test lint bench fmt clean system-deps

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Runtime dependencies and the package itself (editable), re-run when the lists change.
$(VENV)/.deps-run: requirements.txt pyproject.toml | $(PY)
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps -e .
	touch $@

# Test and lint tools on top of the runtime.
$(VENV)/.deps-dev: requirements-dev.txt $(VENV)/.deps-run
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

# Debian packages the browser tests need (Chromium; Playwright's Python wheel
# carries its driver, and we never download a browser of its own).
system-deps:
	@command -v chromium >/dev/null 2>&1 && test -d /usr/share/fonts/truetype/noto || { \
		echo "installing chromium and fonts from Debian"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium fonts-noto-color-emoji fonts-noto-core >/dev/null; }

run: $(VENV)/.deps-run
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true

test: $(VENV)/.deps-dev system-deps
	$(PY) -m pytest --durations=10

lint: $(VENV)/.deps-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(VENV)/.deps-dev
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
