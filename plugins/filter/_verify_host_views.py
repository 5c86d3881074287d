# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: _verify_host_views
short_description: What each host of a play gets as mailops_verified
version_added: 0.1.0
description:
  - The views of P(mailops.clients._verify_host_view#filter) for many hosts at once, as a list to loop over with
    C(delegate_facts). The verify role publishes C(mailops_verified) this way in one task on the controller, so that
    no host has to read the fleet-wide merge. A per-host task that reads it costs time and memory that grow with
    the fleet in every host's task, which made a 1,000-host run quadratic.
extends_documentation_fragment: [mailops.clients._verify, mailops.clients._verify.merge]
options:
  hosts:
    description: The inventory hosts, usually C(ansible_play_hosts).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Publish every host's view
  ansible.builtin.set_fact:
    mailops_verified: "{{ item.view }}"
  loop: "{{ merged | mailops.clients._verify_host_views(ansible_play_hosts) }}"
  loop_control:
    label: "{{ item.host }}"
  run_once: true
  delegate_to: "{{ item.host }}"
  delegate_facts: true
"""

RETURN = r"""
_value:
  description:
    - One item per host, in the order given, C(host) and C(view) (what
      P(mailops.clients._verify_host_view#filter) returns for it).
  type: list
  elements: dict
"""

from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import host_view  # noqa: E402


def verify_host_views(merged, hosts):
    if not isinstance(merged, Mapping) or not isinstance(merged.get("verified"), Mapping):
        raise AnsibleFilterError("_verify_host_views expects the merge of _verify_merge")
    summary = merged.get("summary")
    return [{"host": str(host), "view": host_view(merged["verified"], str(host), summary=summary)} for host in hosts]


class FilterModule:
    def filters(self):
        return {"_verify_host_views": verify_host_views}
