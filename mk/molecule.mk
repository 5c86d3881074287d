# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Molecule container lab: podman + locally built Debian 12 images, no registry needed.
# Included by the main Makefile (include mk/*.mk), which provides VENV and the `venv` target.
#   make collections       containers.podman and ansible.windows from the `ansible` wheel on PyPI
#                          into .cache/collections (no Galaxy); `lint-ansible` needs ansible.windows
#   make molecule-deps     podman, runc, debootstrap (apt, only when missing); the collections
#   make molecule-images   localhost/mailops-{debian,mailhost,client}:12 (cached)
#   make molecule          `molecule test` of every scenario under extensions/molecule/
#                          (MOLECULE_SCENARIOS="default apple_mail" to pick), then removes any
#                          container of ours that is left, and fails if a scenario failed
#   make molecule-clean    remove leftover lab containers (label io.mailops.molecule=true)
# See docs/molecule.md.

VENV ?= .venv
MOLECULE_SCENARIOS ?= $(sort $(patsubst extensions/molecule/%/molecule.yml,%,$(wildcard extensions/molecule/*/molecule.yml)))
MOLECULE_APT_PACKAGES ?= podman runc catatonit debootstrap
MOLECULE_LOG_DIR ?= build/molecule
# containers.conf of the project (runc, lowered ulimits); podman then ignores the system files.
MOLECULE_CONTAINERS_CONF := $(CURDIR)/tools/molecule/containers.conf
# Remove every container of ours (also what an interrupted run left); a no-op without podman.
MOLECULE_CLEAN = command -v podman >/dev/null || exit 0; \
	ids=$$(CONTAINERS_CONF=$(MOLECULE_CONTAINERS_CONF) podman ps -aq --filter label=io.mailops.molecule=true); \
	if [ -n "$$ids" ]; then echo "[molecule-clean] removing containers:" $$ids; \
		CONTAINERS_CONF=$(MOLECULE_CONTAINERS_CONF) podman rm -f -t 0 $$ids >/dev/null; fi
MOLECULE_ENV = CONTAINERS_CONF=$(MOLECULE_CONTAINERS_CONF) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
	ANSIBLE_NOCOLOR=1 PY_COLORS=0

.PHONY: collections molecule molecule-deps molecule-images molecule-clean

# Third-party collections without Galaxy (tools/molecule/install-collections.sh; a no-op once unpacked).
collections: venv
	@PYTHON=$(VENV)/bin/python tools/molecule/install-collections.sh

molecule-deps: collections build/collections/ansible_collections/mailops/clients
	@missing=""; for cmd in podman runc catatonit debootstrap; do command -v $$cmd >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then \
		echo "[molecule-deps] apt-get install $(MOLECULE_APT_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(MOLECULE_APT_PACKAGES) >/dev/null; \
	fi

molecule-images: molecule-deps
	@CONTAINERS_CONF=$(MOLECULE_CONTAINERS_CONF) tools/molecule/build-image.sh all

# Every scenario runs `molecule test` (its destroy step runs even when converge or verify fail);
# the final molecule-clean catches what an interrupted run left. Per-scenario logs and wall times:
# $(MOLECULE_LOG_DIR)/<scenario>.log and $(MOLECULE_LOG_DIR)/timings.txt.
molecule: venv molecule-images
	@mkdir -p $(MOLECULE_LOG_DIR); : >$(MOLECULE_LOG_DIR)/timings.txt; status=0; \
	trap '($(MOLECULE_CLEAN)); exit 130' INT TERM; \
	for s in $(MOLECULE_SCENARIOS); do \
		log=$(MOLECULE_LOG_DIR)/$$(echo $$s | tr / _).log; start=$$(date +%s); \
		echo "[molecule] scenario $$s (log: $$log)"; \
		if $(MOLECULE_ENV) molecule test -s $$s >$$log 2>&1; then res=passed; else res=FAILED; status=1; tail -n 60 $$log; fi; \
		echo "$$s $$res $$(( $$(date +%s) - start )) s" | tee -a $(MOLECULE_LOG_DIR)/timings.txt; \
	done; \
	($(MOLECULE_CLEAN)); \
	passed=$$(grep -c ' passed ' $(MOLECULE_LOG_DIR)/timings.txt || true); \
	failed=$$(grep -c ' FAILED ' $(MOLECULE_LOG_DIR)/timings.txt || true); \
	echo "molecule: $$passed passed, $$failed failed"; \
	exit $$status

molecule-clean:
	@$(MOLECULE_CLEAN)
