# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: mail_accounts_gate
short_description: Decide which normalized accounts verified well enough to be rendered
version_added: 0.1.0
description:
  - The decision behind the verify gate that every renderer role calls
    (C(include_role) of P(mailops.clients.verify#role) with C(tasks_from=gate)).
  - An account passes when it verified by the verify role's one rule, judged on its current settings (looked up by
    endpoint key, so an account whose settings changed since verification never matches an old result) - both
    endpoints verified without an error (O(fail_on=warning) - nor a warning) and, where its login was to be checked
    (credential checks on, a password, password authentication), the login succeeded on both. A login that was to be
    checked but could not be (no AUTH offered, endpoint failed first, login not reported) refuses the account.
  - Returns the decision; it never fails by itself, the gate task list fails on RV(_value.message).
extends_documentation_fragment: mailops.clients._accounts
options:
  verified:
    description: The C(mailops_verified) fact published by the verify role.
    type: dict
    required: true
  allow_unverified:
    description: Render every account anyway; what would have been refused becomes RV(_value.warnings).
    type: bool
    default: false
  client:
    description: Name of the renderer, used in the message (for example V(thunderbird)).
    type: str
  host:
    description: Inventory host name, used in the message.
    type: str
  fail_on:
    description: V(error) refuses endpoints with an error verdict, V(warning) also those with a warning verdict.
    type: str
    choices: [error, warning]
    default: error
  warn:
    description:
      - Emit RV(_value.warnings) as Ansible warnings of the task that evaluates the filter (the gate task list
        does this once, in its warning task).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Accounts that may be rendered
  ansible.builtin.set_fact:
    decision: >-
      {{ accounts | mailops.clients.mail_accounts_gate(mailops_verified, allow_unverified=false,
         client='thunderbird', host=inventory_hostname) }}
  no_log: true
"""

RETURN = r"""
_value:
  description: The decision.
  type: dict
  contains:
    allowed:
      description: The accounts to render (all of them with O(allow_unverified=true)).
      type: list
      elements: dict
    unverified:
      description: Ids of the accounts that did not verify.
      type: list
      elements: str
    refusals:
      description: One line per failing endpoint, followed by its error findings, and one per login that was
        rejected or could not be checked.
      type: list
      elements: str
    warnings:
      description: With O(allow_unverified=true), the message of what did not verify.
      type: list
      elements: str
    message:
      description: The complete text (head line and refusal lines), empty when every account verified.
      type: str
"""

from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible.module_utils.parsing.convert_bool import boolean  # noqa: E402
from ansible.utils.display import Display  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._filter import filter_errors  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import VerifyError, gate  # noqa: E402


def mail_accounts_gate(accounts, verified, allow_unverified=False, client=None, host=None, fail_on="error", warn=False):
    if verified is not None and not isinstance(verified, Mapping):
        raise AnsibleFilterError("mail_accounts_gate: verified must be the mailops_verified dictionary")
    with filter_errors("mail_accounts_gate", VerifyError, accounts=True):
        result = gate(
            list(accounts or []),
            verified,
            allow_unverified=boolean(allow_unverified, strict=False),
            client=client or None,
            host=host or None,
            fail_on=fail_on,
        )
    if boolean(warn, strict=False):
        for warning in result["warnings"]:
            Display().warning(warning)
    return result


class FilterModule:
    def filters(self):
        return {"mail_accounts_gate": mail_accounts_gate}
