# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: mail_endpoints
short_description: The unique mail server endpoints used by normalized accounts
version_added: 0.1.0
description:
  - Derives the unique endpoints (protocol, host, port, security) from normalized accounts, either one host's
    list (output of P(mailops.clients.mail_accounts_normalize#filter)) or a fleet dictionary
    (output of P(mailops.clients.mail_inventory_normalize#filter)).
  - Each endpoint is identified by its key, for example C(imap://mail.example.test:993/tls); that key is used
    in the C(mailops_verified) facts of the P(mailops.clients.verify#role) role.
options:
  _input:
    description: Normalized accounts, a list (one host) or a dictionary from host to list.
    type: raw
    required: true
  credentials:
    description:
      - Also list, per endpoint, the distinct credentials (username, password, auth mechanism) to check.
      - The result then carries passwords; keep tasks C(no_log).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Show the endpoints this host's accounts use
  ansible.builtin.debug:
    msg: "{{ accounts | mailops.clients.mail_endpoints | map(attribute='key') }}"
"""

RETURN = r"""
_value:
  description: The endpoints, sorted by key.
  type: list
  elements: dict
  contains:
    key:
      description: The endpoint key, C(protocol://host:port/security).
      type: str
    protocol:
      description: V(imap), V(pop3) or V(smtp).
      type: str
    host:
      description: Server host name or address (lower case).
      type: str
    port:
      description: TCP port.
      type: int
    security:
      description: V(tls), V(starttls) or V(none).
      type: str
    accounts:
      description:
        - References to the accounts using the endpoint, C(host) (empty for a single list), C(id), C(direction).
      type: list
      elements: dict
    credentials:
      description: With O(credentials=true), C(username), C(password), C(auth_mechanism), C(refs).
      type: list
      elements: dict
"""

from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import endpoints  # noqa: E402


def mail_endpoints(accounts, credentials=False):
    fleet = accounts if isinstance(accounts, Mapping) else {"": accounts or []}
    try:
        return endpoints(fleet, credentials=bool(credentials))
    except KeyError as err:
        raise AnsibleFilterError(
            f"mail_endpoints expects normalized accounts (mail_accounts_normalize): missing {err}"
        ) from None
    except (AttributeError, TypeError):
        raise AnsibleFilterError(
            "mail_endpoints expects normalized accounts (mail_accounts_normalize): a list of account dictionaries, "
            "or a dictionary from host to such a list"
        ) from None


class FilterModule:
    def filters(self):
        return {"mail_endpoints": mail_endpoints}
