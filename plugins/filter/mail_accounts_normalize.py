# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: mail_accounts_normalize
short_description: Validate and normalize a host's mail accounts
version_added: 0.1.0
description:
  - Checks one host's O(_input) (C(mailops_accounts)) against O(servers) (C(mailops_servers)) and returns
    the normalized account list every renderer role consumes (see the inventory model in C(docs/inventory.md)).
  - Fills the defaults that follow the standards, so a minimal account is an email address and a server name
    (ports from protocol and security, V(tls) security, V(password) auth, username and display name from
    the email address).
  - Fails with a message that names the host, the account and the field and says how to fix it, for example an
    unknown server name (listing the known ones), a port out of range, security V(none) with password
    authentication without C(allow_insecure), an invalid email address, duplicate accounts, or two IMAP
    accounts on the same user and host that differ only in port (Thunderbird cannot hold both).
options:
  _input:
    description: The host's C(mailops_accounts) list.
    type: list
    elements: dict
    required: true
  servers:
    description: The named server definitions, usually C(mailops_servers).
    type: dict
    default: {}
  host:
    description: Inventory host name to put into error messages, usually C(inventory_hostname).
    type: str
"""

EXAMPLES = r"""
- name: Normalize this host's accounts
  ansible.builtin.set_fact:
    accounts: >-
      {{ mailops_accounts | mailops.clients.mail_accounts_normalize(mailops_servers, host=inventory_hostname) }}
  no_log: true  # the result carries the passwords of the inventory
"""

RETURN = r"""
_value:
  description:
    - The normalized accounts, in inventory order. All keys are always present.
    - C(password) is the inventory secret (or V(null)); never print the result without C(no_log).
  type: list
  elements: dict
  contains:
    id:
      description: Unique per host; the email address, or C(email#server) when one address is on two servers.
      type: str
    email:
      description: The address, domain in lower case.
      type: str
    domain:
      description: The domain part of the address.
      type: str
    local_part:
      description: The part before the C(@).
      type: str
    display_name:
      description: The display name (default the email address).
      type: str
    user:
      description: OS user on the client host whose profile gets the account, or V(null).
      type: str
    server:
      description: Name of the server definition, V(null) for inline settings.
      type: str
    incoming:
      description: C(protocol) (V(imap) or V(pop3)), C(host), C(port), C(security), C(auth), C(username).
      type: dict
    outgoing:
      description: C(protocol) (V(smtp)), C(host), C(port), C(security), C(auth), C(username).
      type: dict
    password:
      description: The password, or V(null).
      type: str
    oauth2:
      description: C(issuer) and C(scope), or V(null).
      type: dict
    pop3:
      description: C(leave_on_server) and C(delete_after_days) for POP3 accounts, V(null) for IMAP.
      type: dict
    check_interval_minutes:
      description: Minutes between checks for new mail, or V(null).
      type: int
    timeout:
      description: Connection timeout of the server definition in seconds, or V(null).
      type: int
    signature:
      description: Signature text, or V(null).
      type: str
    reply_to:
      description: Reply-To address, or V(null).
      type: str
    state:
      description:
        - V(present), or V(absent) for an account to remove (offboarding). An absent account needs only C(email)
          (and C(user)); its C(incoming), C(outgoing) and C(server) may be V(null), its C(password) always is.
      type: str
      version_added: 0.2.0
    previous_email:
      description: The address the account had before a rename, or V(null).
      type: str
      version_added: 0.2.0
"""

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import InventoryError, normalize_accounts  # noqa: E402


def mail_accounts_normalize(accounts, servers=None, host=None):
    try:
        return normalize_accounts(accounts, servers or {}, host)
    except InventoryError as err:
        raise AnsibleFilterError(str(err)) from None


class FilterModule:
    def filters(self):
        return {"mail_accounts_normalize": mail_accounts_normalize}
