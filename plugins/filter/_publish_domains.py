# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: _publish_domains
short_description: The mail domains to publish, derived from normalized accounts
version_added: 0.1.0
description:
  - B(Private to the mailops.clients.publish role, not a public interface); its options and result may change in
    any release without a deprecation period.
  - The default of C(mailops_publish_domains) - each mail domain of the accounts with the servers (names from
    C(mailops_servers)) its accounts use, first use first, and C(username=local_part) when every account of the
    domain logs in with its local part. Accounts with inline settings and absent accounts are not counted.
extends_documentation_fragment: mailops.clients._accounts
"""

EXAMPLES = r"""
- name: Domains of every account of the fleet
  ansible.builtin.set_fact:
    domains: "{{ accounts | mailops.clients._publish_domains }}"
"""

RETURN = r"""
_value:
  description: "C({domain: {server: [names], username: email | local_part}})."
  type: dict
"""

from ansible_collections.mailops.clients.plugins.plugin_utils._filter import filter_errors  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._publish import domains_from_accounts  # noqa: E402


def publish_domains(accounts):
    with filter_errors("_publish_domains", accounts=True):
        return domains_from_accounts(list(accounts or []))


class FilterModule:
    def filters(self):
        return {"_publish_domains": publish_domains}
