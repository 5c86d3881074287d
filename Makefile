# mailops.clients developer entry points. `make demo` and `make test` set everything up themselves
# on a fresh Debian 12 machine (as root): Debian packages, then a .venv with pinned dependencies.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LAB_DIR ?= build/lab
LAB_PORT_OFFSET ?= 0
# ansible-test only runs from .../ansible_collections/<ns>/<name>/: a copy of the tracked files.
ANSIBLE_TEST_ROOT ?= /tmp/mailops-clients-ansible-test
PYTEST_ARGS ?=

export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build/collections:$(CURDIR)/.cache/collections

.PHONY: help system-deps venv lint lint-python lint-yaml lint-changelog lint-ansible sanity build \
        test test-unit test-integration lab-up lab-down lab-status demo clean

help:
	@echo "make demo              run the main job against the embedded mail lab"
	@echo "make test              the whole suite: unit, lint (incl. sanity), integration (incl. build), molecule,"
	@echo "                       the execution environment (make test-ee), the older ansible-cores (make compat)"
	@echo "make test-unit         unit tests only (seconds, no lab)"
	@echo "make test-integration  tests against the real Dovecot/Postfix lab"
	@echo "make lint              ruff, yamllint, ansible-lint (production), ansible-test sanity"
	@echo "make build             build the collection tarball into build/dist/"
	@echo "make lab-up|lab-down   start/stop the mail lab in $(LAB_DIR)"

system-deps:
	tools/install-system-deps.sh

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.lock
	@touch $@

build/collections/ansible_collections/mailops/clients:
	@mkdir -p $(@D)
	@ln -sfn $(CURDIR) $@

# --- lint --------------------------------------------------------------------------------------
lint: lint-python lint-yaml lint-changelog lint-ansible sanity

# Modules run on managed nodes with Python >= 3.7 (tests/config.yml, docs/development.md): vermin fails on
# anything newer in plugins/modules and plugins/module_utils.
MODULE_PYTHON_FLOOR := 3.7
lint-python: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/vermin -q --no-tips --violations -t=$(MODULE_PYTHON_FLOOR)- plugins/modules plugins/module_utils

lint-yaml: venv
	$(BIN)/yamllint --strict .

lint-changelog: venv
	$(BIN)/antsibull-changelog lint

lint-ansible: venv build/collections/ansible_collections/mailops/clients collections
	$(BIN)/ansible-lint --profile production --offline

# ansible-test sanity with the ansible-test of venv $(1), in a copy of the tracked files under $(2)
# (mk/compat.mk runs it with each older core's venv).
define ANSIBLE_TEST_SANITY
	@# ansible-test downloads a get-pip script from a host we cannot reach: give it our stand-in.
	@pip_version=$$(grep -ho "pip='[0-9.]*'" $(1)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py \
	  | head -1 | tr -dc '0-9.'); \
	  mkdir -p ~/.ansible/test/cache; \
	  tmp=$$(mktemp ~/.ansible/test/cache/.get_pip.XXXXXX); \
	  install -m 0644 tools/ansible-test-get-pip.py $$tmp; \
	  mv -f $$tmp ~/.ansible/test/cache/get_pip_$${pip_version//./_}.py  # atomic: cores side by side (make -j2)
	rm -rf $(2)
	mkdir -p $(2)/ansible_collections/mailops/clients
	git ls-files -z --cached --others --exclude-standard \
	  | rsync -a --from0 --files-from=- ./ $(2)/ansible_collections/mailops/clients/
	cd $(2)/ansible_collections/mailops/clients && git init -q && git add -A && \
	  PATH=$(CURDIR)/$(1)/bin:$$PATH $(CURDIR)/$(1)/bin/ansible-test sanity --python 3.11 --local --color no
	rm -rf $(2)
endef

sanity: venv
	$(call ANSIBLE_TEST_SANITY,$(VENV),$(ANSIBLE_TEST_ROOT))

# --- build -------------------------------------------------------------------------------------
build: venv
	mkdir -p build/dist
	$(BIN)/ansible-galaxy collection build --force --output-path build/dist .

# --- tests -------------------------------------------------------------------------------------
test-unit: venv
	$(BIN)/pytest -q tests/unit $(PYTEST_ARGS)

# (tests/integration/ee runs in its own stage, test-ee: it needs the image that mk/ee.mk builds)
test-integration: system-deps venv
	$(BIN)/pytest -q --durations=10 --ignore=tests/integration/ee tests/integration $(PYTEST_ARGS)

# The whole suite, stage by stage, with each stage's wall time at the end.
# compat: the older ansible-cores, trimmed (mk/compat.mk)
TEST_STAGES ?= test-unit lint test-integration molecule test-ee compat
test: system-deps venv
	@times=""; for stage in $(TEST_STAGES); do start=$$(date +%s); \
	  $(MAKE) --no-print-directory $$stage || { echo "[make test] stage $$stage FAILED"; exit 1; }; \
	  times="$$times $$stage=$$(( $$(date +%s) - start ))s"; done; \
	  echo "[make test] stage wall times:$$times"

# --- mail lab ----------------------------------------------------------------------------------
lab-up: system-deps venv
	$(BIN)/python tools/maillab.py up --dir $(LAB_DIR) --port-offset $(LAB_PORT_OFFSET)

lab-down: venv
	$(BIN)/python tools/maillab.py down --dir $(LAB_DIR)

lab-status: venv
	$(BIN)/python tools/maillab.py status --dir $(LAB_DIR)

# --- the main job ------------------------------------------------------------------------------
demo: system-deps venv
	tools/demo.sh

clean:
	-$(BIN)/python tools/maillab.py down --dir $(LAB_DIR) 2>/dev/null
	rm -rf build .pytest_cache .ruff_cache

-include mk/*.mk
