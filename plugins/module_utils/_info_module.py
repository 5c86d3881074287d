# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one main() of the *_server_info modules: the only place where a probe turns into fail_json."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mailops.clients.plugins.module_utils._connection import (
    connection_argument_spec,
    validate,
)
from ansible_collections.mailops.clients.plugins.module_utils._findings import failure_message, reaches_fail_on
from ansible_collections.mailops.clients.plugins.module_utils._module_main import fail_json_on_exception
from ansible_collections.mailops.clients.plugins.module_utils._probe import run_checks


def _invocation(params: dict) -> dict:
    """What Ansible echoes back as ``invocation``, with ``accounts`` summarized.

    Ansible masks every secret (each account's password or token) in every echoed string, which is quadratic in
    the number of accounts; the accounts' usernames and verdicts are in the result's ``accounts`` anyway.
    """
    accounts = params.get("accounts")
    if not accounts:
        return {"module_args": params}
    count = f"{len(accounts)} account{'s' if len(accounts) != 1 else ''}"
    return {"module_args": dict(params, accounts=f"{count}, results in accounts")}


def run_info_module(protocol: str) -> None:
    """Probe one endpoint with the module's parameters and exit (or fail) with the result."""
    module = AnsibleModule(
        argument_spec=connection_argument_spec(protocol),
        mutually_exclusive=[("password", "oauth2_token"), ("username", "accounts")],
        required_by={"password": "username", "oauth2_token": "username"},
        supports_check_mode=True,
    )
    invocation = _invocation(module.params)
    with fail_json_on_exception(module, f"{protocol}_server_info", invocation=invocation):
        settings = validate(module.params, protocol)
        result = run_checks(settings)
    if reaches_fail_on(result["verdict"], settings.fail_on):
        msg = failure_message(settings.label, result["findings"], settings.fail_on, result["accounts"])
        module.fail_json(msg=msg, invocation=invocation, **result)
    module.exit_json(invocation=invocation, **result)
