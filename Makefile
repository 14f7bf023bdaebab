# zhifu — the two set-up commands are `make run` and `make test`; both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.zhifu-dev-installed
RUN_STAMP := $(VENV)/.zhifu-installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
ACQUIRER_PORT ?= 5800

SEEDS  ?= 100

.PHONY: run demo test check screenshots bench fuzz sim lint fmt deps lock clean help

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# Debian packages the tests need: PostgreSQL for the ledger, pcscd + vpcd for PC/SC;
# swig, gcc and libc6-dev build pyscard (no Linux wheel on PyPI) against libpcsclite-dev;
# espeak-ng speaks the scanning box's announcements; Chromium (driven by Playwright) and the CJK
# fonts show the web pages; opensc's opensc-tool reads the served card as a second PC/SC client;
# unifont is the terminal screen's dot-matrix font (GB 2312 at 16x16); sox's soxi reads the
# audio modem's WAV files.
SYSTEM_PACKAGES := postgresql pcscd vsmartcard-vpcd libpcsclite-dev swig gcc libc6-dev espeak-ng \
                   chromium fonts-noto-cjk opensc unifont sox openssl
# --no-compile: byte-compiling every installed file took 30 of the 50 s a fresh install of the
# runtime needs; Python compiles what it imports on first use instead.
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -c requirements.lock
# Test tools whose own pins conflict with ours (emv pins pyscard==2.0.0 and click==7.1.2):
# installed without their requirements; pyproject's dev extra lists the ones they import.
NO_DEPS := emv==1.0.14

# Runtime only (what `make run` needs), then the dev and bench extras (what `make test` needs);
# every version comes from requirements.lock (used as constraints).
$(RUN_STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) setuptools wheel
	$(PIP) --no-build-isolation -e .
	@touch $@

$(STAMP): $(RUN_STAMP)
	bash scripts/ensure-system-packages.sh $(SYSTEM_PACKAGES)
	$(PIP) --no-build-isolation -e '.[dev,bench]'
	$(PIP) --no-deps $(NO_DEPS)
	@touch $@

deps: $(STAMP)  ## create .venv and install the locked dependencies

run: $(RUN_STAMP)  ## start the zhifu stack (web app on http://127.0.0.1:8000, acquirer on 5800)
	$(BIN)/zhifu serve --host $(HOST) --port $(PORT) --acquirer-port $(ACQUIRER_PORT)

demo: $(RUN_STAMP)  ## play a demo day against the stack `make run` started (its demo world), then check the books
	$(BIN)/zhifu demo --stack --acquirer $(HOST):$(ACQUIRER_PORT) --url http://$(HOST):$(PORT)

test: $(STAMP)  ## run the whole test suite (installs PostgreSQL and pcscd from Debian when missing)
	bash scripts/ensure-system-packages.sh $(SYSTEM_PACKAGES)
	$(BIN)/python -m pytest -n 2 -q

screenshots: $(STAMP)  ## refresh docs/screenshots/ from the browser tests (headless Chromium)
	bash scripts/ensure-system-packages.sh $(SYSTEM_PACKAGES)
	ZHIFU_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/integration/web

bench: $(STAMP)  ## print the benchmark tables (zhifu against its baselines, same run)
	bash scripts/ensure-system-packages.sh $(SYSTEM_PACKAGES) wrk
	$(BIN)/python -m bench

fuzz: $(STAMP)  ## the long fuzz job: 100,000 random and mutated ISO 8583 frames
	ZHIFU_FUZZ_EXAMPLES=100000 $(BIN)/python -m pytest -q tests/fuzz

sim: $(RUN_STAMP)  ## the seeded fault simulation over SEEDS seeds (make sim SEEDS=1000)
	$(BIN)/zhifu sim --seeds $(SEEDS)

lint: $(STAMP)  ## ruff, mypy --strict and the import contract (lint-imports)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

check: lint  ## lint, then the fast unit tests (no integration, no slow tests): the pre-push loop
	$(BIN)/python -m pytest -n 2 -q -m "not slow" tests/unit

fmt: $(STAMP)  ## format the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

lock:  ## re-resolve requirements.lock from pyproject.toml (needs the registries)
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install --quiet --disable-pip-version-check 'setuptools>=75' wheel
	.lockenv/bin/python -m pip install --quiet --disable-pip-version-check '.[dev,bench]'
	.lockenv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps $(NO_DEPS)
	.lockenv/bin/python -m pip freeze --all --exclude-editable --disable-pip-version-check \
	  | grep -v -E '^(pip|zhifu)( |==)' > .lock.tmp
	{ echo "# Pinned by 'make lock' from pyproject.toml (runtime, dev and bench extras)."; \
	  cat .lock.tmp; } > requirements.lock && rm .lock.tmp
	rm -rf .lockenv

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache build src/*.egg-info
