# Hookyard: `make run` starts a demo on SQLite, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
SERVER_STAMP := $(VENV)/.installed-server
HOST ?= 127.0.0.1
PORT ?= 8000
CODE := src tests $(wildcard benchmarks examples scripts)
export HOOKYARD_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: chromium faketime install run openapi cli-docs first-run test check lint typecheck imports pytest fuzz security netns-clean bench bench-smoke soak reliability clean format deploy-check

# `make run` installs the server only; `make install` (and so `make test`) adds the test tools.
# uv, bootstrapped into the venv from PyPI with pip, installs the rest several times faster.
install: $(STAMP)

$(UV):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(SERVER_STAMP): pyproject.toml | $(UV)
	@$(UV) pip install --quiet --python $(PY) -e '.[server]'
	@touch $(SERVER_STAMP)

$(STAMP): pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(PY) -e '.[server,test]'
	@touch $(STAMP) $(SERVER_STAMP)

run: $(SERVER_STAMP)
	HOOKYARD_ALLOW_PRIVATE_CALLBACKS=$${HOOKYARD_ALLOW_PRIVATE_CALLBACKS:-true} \
		$(BIN)/hookyard demo --host $(HOST) --port $(PORT)

openapi: install
	$(PY) scripts/openapi.py docs/reference/openapi.json

cli-docs: install
	$(PY) scripts/cli_docs.py docs/reference/cli.md

# The first and second `make run` on a clean clone, timed until GET / answers.
first-run:
	$(PYTHON) scripts/first_run.py

test: check

check: install lint typecheck imports pytest

lint: install
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)

format: install
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

# $(call apt-install,TEST,PACKAGE,WHAT THEN): install Debian's PACKAGE unless `[ TEST ]` holds,
# when root can run apt-get; otherwise say it is missing and WHAT THEN happens.
define apt-install
	@if [ ! $(1) ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) > /dev/null; \
		else \
			echo "$(2) is missing and cannot be installed here (needs root and apt-get):" \
				"$(3)"; \
		fi; \
	fi
endef

# The console's browser tests drive Debian's chromium (no browser download); root installs it.
CHROMIUM := /usr/bin/chromium
chromium:
	$(call apt-install,-x $(CHROMIUM),chromium,the browser tests will skip (and fail when CI=true).)

pytest: install chromium
	$(BIN)/python -m tests.pgcheck
	$(BIN)/pytest -n 2 --dist loadgroup --durations=25 -m "not reliability or slice"

# The clock-ahead reliability scenario runs a worker under libfaketime; root installs it.
FAKETIME_LIB := /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
faketime:
	$(call apt-install,-e $(FAKETIME_LIB),faketime,the clock-ahead scenario will fail.)

# Every fault scenario (docs/reliability.md), one at a time, with the table of results at the end.
reliability: install faketime
	$(BIN)/python -m tests.pgcheck
	$(BIN)/pytest -p no:xdist -m reliability tests/reliability

# The SSRF matrix alone; its tests make (and remove) a network namespace with only lo (needs root).
security: install
	$(BIN)/pytest -n 2 --dist loadgroup tests/security

# Remove network namespaces left by test runs that were killed (their process is gone).
netns-clean: install
	$(BIN)/python -m tests.security.netns

# The systemd units under deploy/ checked by `systemd-analyze verify`; installs the tool (the
# systemd package, for the tool only) when it is absent and apt-get can run.
deploy-check: install
	@command -v systemd-analyze >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& apt-get install -y --no-install-recommends systemd >/dev/null; } \
		|| echo "systemd-analyze is not installed and cannot be installed here: the verify test is skipped"
	$(BIN)/pytest -p no:xdist tests/contract/test_deploy_units.py

fuzz: install
	HOOKYARD_FUZZ_EXAMPLES=$${HOOKYARD_FUZZ_EXAMPLES:-200} $(BIN)/pytest -p no:xdist tests/contract/test_schemathesis.py

bench: install
	$(BIN)/python -m benchmarks

bench-smoke: install
	$(BIN)/python -m benchmarks --smoke

clean:
	rm -rf $(VENV) .hookyard .mypy_cache .ruff_cache build src/*.egg-info
