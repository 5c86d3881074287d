# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: _verify_roundtrip_select
short_description: Decide which accounts of a fleet get a round trip
version_added: 0.1.0
description:
  - Sets every account's C(roundtrip) to a boolean - its own C(roundtrip) setting, else its server's (in
    C(mailops_servers)), else O(default) (the role's C(mailops_verify_roundtrip)). An account with a round trip also
    has its logins checked by the probes.
extends_documentation_fragment: mailops.clients._verify
options:
  _input:
    description: Normalized fleet (P(mailops.clients.mail_inventory_normalize#filter)).
    type: dict
    required: true
  default:
    description: The round trip of accounts that do not say.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Normalize the fleet, round trips for every account that does not opt out
  ansible.builtin.set_fact:
    fleet: >-
      {{ hostvars | mailops.clients.mail_inventory_normalize(hosts) | mailops.clients._verify_roundtrip_select(true) }}
  no_log: true
"""

RETURN = r"""
_value:
  description: The fleet, each account with C(roundtrip) V(true) or V(false).
  type: dict
"""

from ansible.module_utils.parsing.convert_bool import boolean  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_roundtrip import select  # noqa: E402


def _verify_roundtrip_select(fleet, default=False):
    return select(fleet or {}, boolean(default, strict=False))


class FilterModule:
    def filters(self):
        return {"_verify_roundtrip_select": _verify_roundtrip_select}
