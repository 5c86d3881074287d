# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The ansible-core matrix, part of `make test` (stage compat). The whole suite runs on the newest pinned core
# (.venv, requirements.lock); each older supported core gets its own venv .venv-<minor> from
# requirements/ansible-<minor>.lock (cached like .venv: reinstalled only when the lock file changes) and a trimmed
# run, stage by stage:
#   sanity       that core's `ansible-test sanity` (as `make sanity`, in /tmp/mailops-clients-ansible-test-<minor>)
#   integration  the role integration tests (tests/integration/targets/<role>, their own mail lab): oldest core
#   provision    the one-host provision (tests/integration/playbooks/test_one_host_provision.py): the other cores
#   demo         `make demo` twice from scratch (tools/demo.sh with VENV=.venv-<minor>, output in
#                build/compat/demo-<minor>, its own lab ports); the second run must report changed=0 and no failure
# The role tests run on the oldest core only: what differs between cores (templating, argument validation) is
# widest there, and on every core they would cost about 8 minutes each (docs/development.md).
# Included by the main Makefile (include mk/*.mk), which provides PYTHON, the sanity recipe and system-deps.
#   make compat                         what `make test` runs: every older core, two side by side
#   make compat-venvs                   the venvs of every older core
#   make test-compat                    every older core, one after the other; stage wall times at the end
#   make test-compat COMPAT_CORES=2.17  one core only (also: make test-compat-2.17)
#   make test-compat-2.17 COMPAT_STAGES_2.17="sanity integration demo"   other stages for one core
# Logs: build/compat/<minor>/<stage>.log.

COMPAT_CORES ?= 2.16 2.17 2.18
COMPAT_STAGES ?= sanity provision demo
COMPAT_STAGES_2.16 ?= sanity integration demo
# The role integration tests: the roles and the files they write.
COMPAT_TEST_TARGETS ?= thunderbird apple_mail outlook verify rendered_files
COMPAT_LOG_DIR ?= build/compat

.PHONY: compat compat-venvs test-compat
# (test-compat-<minor>, compat-<stage>-<minor> are pattern rules, which make never applies to .PHONY targets)

compat-venvs: $(foreach core,$(COMPAT_CORES),.venv-$(core)/.installed)

.venv-%/.installed: requirements/ansible-%.lock
	@test -x .venv-$*/bin/python || $(PYTHON) -m venv .venv-$*
	.venv-$*/bin/pip install --disable-pip-version-check -q -r requirements/ansible-$*.lock
	@touch $@

test-compat: $(addprefix test-compat-,$(COMPAT_CORES))
	@for core in $(COMPAT_CORES); do cat $(COMPAT_LOG_DIR)/$$core/times.txt; done

# The cores side by side (separate venvs, labs, ports and sanity trees), as `make test` runs them.
compat:
	$(MAKE) --no-print-directory -j2 -k test-compat

# One core: every stage in order (a failed stage does not stop the next; its log's tail is shown), then the
# stage wall times; fails when a stage failed.
test-compat-%: system-deps .venv-%/.installed
	@core=$*; log=$(COMPAT_LOG_DIR)/$$core; mkdir -p $$log; times=""; failed=""; total=$$(date +%s); \
	for stage in $(or $(COMPAT_STAGES_$*),$(COMPAT_STAGES)); do start=$$(date +%s); \
	  echo "[test-compat] ansible-core $$core: $$stage (log: $$log/$$stage.log)"; \
	  if $(MAKE) --no-print-directory compat-$$stage-$$core >$$log/$$stage.log 2>&1; then res=""; else \
	    tail -n 40 $$log/$$stage.log; echo "[test-compat] ansible-core $$core: stage $$stage FAILED"; \
	    res=" FAILED"; failed="$$failed $$stage"; fi; \
	  times="$$times $$stage=$$(( $$(date +%s) - start ))s$$res"; done; \
	echo "[test-compat] ansible-core $$core stage wall times:$$times; total $$(( $$(date +%s) - total ))s" \
	  | tee $$log/times.txt; \
	test -z "$$failed"

compat-sanity-%: .venv-%/.installed
	$(call ANSIBLE_TEST_SANITY,.venv-$*,$(ANSIBLE_TEST_ROOT)-$*)

compat-integration-%: .venv-%/.installed
	.venv-$*/bin/pytest -q --durations=10 $(addprefix tests/integration/targets/,$(COMPAT_TEST_TARGETS)) \
	  tests/integration/playbooks/test_one_host_provision.py $(PYTEST_ARGS)

compat-provision-%: .venv-%/.installed
	.venv-$*/bin/pytest -q --durations=5 tests/integration/playbooks/test_one_host_provision.py $(PYTEST_ARGS)

# Lab ports: 6000 + 7 x the minor version (2.16: 6112), away from `make demo` (0) and the test labs (100..4900).
compat-demo-%: .venv-%/.installed
	@dir=$(COMPAT_LOG_DIR)/demo-$*; rm -rf $$dir; \
	for run in 1 2; do \
	  echo "[compat-demo] ansible-core $*: run $$run"; \
	  VENV=.venv-$* DEMO_DIR=$$dir DEMO_PORT_OFFSET=$$(( 6000 + 7 * $(lastword $(subst ., ,$*)) )) tools/demo.sh; \
	  cp $$dir/logs/provision.log $$dir/provision-$$run.log; \
	done; \
	recap=$$(sed -n '/^PLAY RECAP/,$$p' $$dir/provision-2.log); \
	if grep -qE 'changed=[1-9]|failed=[1-9]|unreachable=[1-9]' <<<"$$recap"; then \
	  echo "$$recap"; echo "[compat-demo] ansible-core $*: the second run changed or failed something"; exit 1; fi; \
	echo "[compat-demo] ansible-core $*: second run changed=0 on every host"
