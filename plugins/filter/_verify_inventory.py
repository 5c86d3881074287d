# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: _verify_inventory
short_description: One host's normalized accounts, or the message of its inventory error
version_added: 0.1.0
description:
  - Normalizes the C(mailops_accounts) and C(mailops_servers) of one host like
    P(mailops.clients.mail_inventory_normalize#filter), but returns an error instead of raising it, so that the role
    can keep the accounts in a C(no_log) fact and still show the error (which names host, account and field and
    carries no secret).
extends_documentation_fragment: [mailops.clients._verify, mailops.clients._verify.host]
options:
  _input:
    description:
      - C(hostvars), or a mapping of the host name to its C(mailops_accounts) and C(mailops_servers) (what the verify
        role passes, so that the host's other variables are not computed again).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Normalize this host's accounts
  ansible.builtin.set_fact:
    inventory: "{{ hostvars | mailops.clients._verify_inventory(inventory_hostname) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: The outcome.
  type: dict
  contains:
    accounts:
      description: The normalized accounts (with passwords), V(null) when there is an error.
      type: list
      elements: dict
    error:
      description: The inventory error, V(null) when there is none.
      type: str
"""

from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import InventoryError, normalize_fleet  # noqa: E402


def verify_inventory(hostvars, host):
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("_verify_inventory expects hostvars as input")
    host = str(host)
    if host not in hostvars:
        raise AnsibleFilterError(f"_verify_inventory: host {host} is not in hostvars")
    hv = hostvars[host]
    try:
        accounts = normalize_fleet({host: (hv.get("mailops_accounts"), hv.get("mailops_servers"))})[host]
    except InventoryError as err:
        return {"accounts": None, "error": str(err)}
    return {"accounts": accounts, "error": None}


class FilterModule:
    def filters(self):
        return {"_verify_inventory": verify_inventory}
