# One command to run the bot, one to run the tests; both build .venv when missing.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test lint format bench clean browser screenshots

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/adminbot run $(ARGS)

# The dashboard's browser tests drive Debian's chromium (no browser download). As root
# with apt it is installed when missing; elsewhere the tests say loudly they did not
# run (and fail under CI=true).
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
			|| echo "*** could not install chromium: the browser tests will not run ***"; \
	else echo "*** chromium is missing and cannot be installed here: the browser tests will not run ***"; fi

# The `fleet` tests (several adminbot processes, PostgreSQL stopped on purpose) spend
# their time waiting on leases and outages: they run beside the rest, their report last.
FLEET_LOG := .pytest_cache/fleet.log

test: $(VENV)/.installed browser
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	@mkdir -p .pytest_cache
	@$(PY) -m pytest -q -m fleet > $(FLEET_LOG) 2>&1 & fleet=$$!; \
	$(PY) -m pytest -q -m "not fleet"; rest=$$?; \
	wait $$fleet; fleet_status=$$?; \
	echo "--- fleet tests (ran alongside) ---"; cat $(FLEET_LOG); \
	test $$rest -eq 0 && test $$fleet_status -eq 0

lint: $(VENV)/.installed
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(VENV)/.installed
	$(PY) bench/classify_bench.py
	$(PY) bench/tail_bench.py
	$(PY) bench/latency_bench.py
	$(PY) bench/web_bench.py
	$(PY) bench/noise_bench.py

# The README's pictures of the dashboard (overview, hosts, an incident), taken by the browser tests.
screenshots: $(VENV)/.installed browser
	ADMINBOT_SCREENSHOTS=docs $(PY) -m pytest -q tests/test_web_browser.py -k overview

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
