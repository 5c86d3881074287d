# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: _verify_host_view
short_description: What one host gets as mailops_verified
version_added: 0.1.0
description:
  - Cuts the C(mailops_verified) fact of one host out of the merge of P(mailops.clients._verify_merge#filter) -
    every endpoint, the host's own accounts, whether credentials were checked and the run's summary.
extends_documentation_fragment: [mailops.clients._verify, mailops.clients._verify.merge, mailops.clients._verify.host]
"""

EXAMPLES = r"""
- name: Publish this host's view
  ansible.builtin.set_fact:
    mailops_verified: "{{ merged | mailops.clients._verify_host_view(inventory_hostname) }}"
"""

RETURN = r"""
_value:
  description: C(endpoints), C(accounts) (this host's, by account id), C(credentials) and C(summary).
  type: dict
"""

from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import host_view  # noqa: E402


def verify_host_view(merged, host):
    if not isinstance(merged, Mapping) or not isinstance(merged.get("verified"), Mapping):
        raise AnsibleFilterError("_verify_host_view expects the merge of _verify_merge")
    return host_view(merged["verified"], str(host), summary=merged.get("summary"))


class FilterModule:
    def filters(self):
        return {"_verify_host_view": verify_host_view}
