# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: mail_inventory_normalize
short_description: Validate and normalize the mail accounts of many hosts at once
version_added: 0.1.0
description:
  - Reads C(mailops_accounts) and C(mailops_servers) of every host in O(hosts) from O(_input) (C(hostvars))
    and normalizes each host's accounts like P(mailops.clients.mail_accounts_normalize#filter).
  - Reports the problems of all hosts in one error, one line per host, so a fleet is fixed in one pass.
  - Used by the P(mailops.clients.verify#role) role with C(run_once) to verify a whole play.
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The hosts to read, for example C(ansible_play_hosts).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Normalize the accounts of every host in the play
  ansible.builtin.set_fact:
    fleet: "{{ hostvars | mailops.clients.mail_inventory_normalize(ansible_play_hosts) }}"
  run_once: true
  no_log: true
"""

RETURN = r"""
_value:
  description:
    - A dictionary from host name to the list of normalized accounts
      (see P(mailops.clients.mail_accounts_normalize#filter)).
    - Hosts without C(mailops_accounts) map to an empty list. The lists carry passwords; keep tasks C(no_log).
  type: dict
"""

from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._filter import filter_errors  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import InventoryError, normalize_fleet  # noqa: E402


def mail_inventory_normalize(hostvars, hosts):
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("mail_inventory_normalize expects hostvars as input")
    selected = {}
    for host in hosts or []:
        host = str(host)
        if host not in hostvars:
            raise AnsibleFilterError(f"mail_inventory_normalize: host {host} is not in hostvars")
        hv = hostvars[host]
        selected[host] = (hv.get("mailops_accounts"), hv.get("mailops_servers"))
    with filter_errors(None, InventoryError):
        return normalize_fleet(selected)


class FilterModule:
    def filters(self):
        return {"mail_inventory_normalize": mail_inventory_normalize}
