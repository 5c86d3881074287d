# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The execution environment: examples/execution-environment.yml built by ansible-builder on the
# local Debian base image of the Molecule lab, no registry and no Galaxy (tools/ee/build.sh), and AWX-style
# ansible-runner jobs in it against the mail lab (tests/integration/ee). See docs/execution-environment.md.
# Included by the main Makefile (include mk/*.mk), which provides VENV, BIN and the venv target; mk/molecule.mk
# provides molecule-deps (podman, runc, debootstrap, the collections) and MOLECULE_CONTAINERS_CONF.
#   make ee          build localhost/mailops-ee:<version>; cached: rebuilt only when the recipe hash changes
#                    (definition, collection content, ansible.windows, requirements.lock, base image, builder)
#   make ee EE_BUILD_ARGS=--force            rebuild with podman's layer cache
#   make ee EE_BUILD_ARGS="--force --no-cache"  rebuild every layer (the cold cost)
#   make test-ee     the ansible-runner jobs in the image (builds it first when needed)
#   make ee-clean    remove the image and the untagged images earlier builds of it left

EE_BUILD_ARGS ?=
EE_ENV = CONTAINERS_CONF=$(MOLECULE_CONTAINERS_CONF) PYTHON=$(CURDIR)/$(BIN)/python

.PHONY: ee test-ee ee-clean

ee: venv molecule-deps
	@$(EE_ENV) tools/ee/build.sh $(EE_BUILD_ARGS)

test-ee: system-deps venv molecule-deps
	@start=$$(date +%s); $(EE_ENV) tools/ee/build.sh $(EE_BUILD_ARGS); echo "[ee] image ready in $$(( $$(date +%s) - start )) s"
	$(BIN)/pytest -q --durations=5 tests/integration/ee $(PYTEST_ARGS)

ee-clean:
	@command -v podman >/dev/null || exit 0; export CONTAINERS_CONF=$(MOLECULE_CONTAINERS_CONF); \
	ids=$$(podman images -q --filter label=io.mailops.ee=true | sort -u); \
	if [ -n "$$ids" ]; then echo "[ee-clean] removing images:" $$ids; podman rmi -f $$ids >/dev/null; fi
