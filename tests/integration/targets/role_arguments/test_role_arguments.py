# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mailops.clients.role_arguments, and the playbooks that check role variables with it instead of ansible-core's
per-role check: the same messages, once per host, before anything is probed. No mail lab needed."""

from __future__ import annotations

import json
import re

import pytest
from ansible_recap import flat, recap

pytestmark = pytest.mark.slow

BAD_BOOL = "argument 'mailops_thunderbird_create_profile' is of type str and we were unable to convert to bool"
CORE_CHECK = "Validating arguments against arg spec"


def _text(result):
    """Everything printed, flattened; ansible-core < 2.19 names a type as <class 'str'>, 2.19 as str."""
    return re.sub(r"<class '(\w+)'>", r"\1", flat(result.stdout + result.stderr))


def _host_recap(result, host):
    match = re.search(rf"^{host}\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", result.stdout, re.M)
    assert match, result.stdout + result.stderr
    return {"ok": int(match.group(1)), "failed": int(match.group(4))}


def _inventory(tmp_path, hosts):
    path = tmp_path / "inventory.yml"
    common = {"ansible_connection": "local", "mailops_accounts": [], "mailops_verify_report_dir": ""}
    path.write_text(json.dumps({"all": {"hosts": {h: {**common, **v} for h, v in hosts.items()}}}), encoding="utf-8")
    return str(path)


def test_provision_checks_the_roles_each_host_runs_before_anything_else(ansible_playbook, tmp_path):
    inventory = _inventory(
        tmp_path,
        {
            # renders Thunderbird: its bad variable fails it before the verify role starts
            "bad": {"mailops_clients": ["thunderbird"], "mailops_thunderbird_create_profile": "maybe"},
            # the same bad variable on a host that renders no Thunderbird is not the Thunderbird role's concern
            "other": {"mailops_clients": [], "mailops_thunderbird_create_profile": "maybe"},
        },
    )
    result = ansible_playbook("- import_playbook: mailops.clients.provision\n", inventory=inventory)
    output = _text(result)
    assert result.returncode == 2, output
    assert "Validation of the variables of role mailops.clients.thunderbird failed:" in output
    assert BAD_BOOL in output
    assert _host_recap(result, "bad") == {"ok": 0, "failed": 1}
    assert _host_recap(result, "other")["failed"] == 0
    # the failed host never reached the verify role; ansible-core's own per-role check did not run at all
    assert "fatal: [bad]" in result.stdout
    assert re.search(r"TASK \[mailops\.clients\.verify : Check the clients each host asks for", result.stdout)
    assert "ok: [bad]" not in result.stdout
    assert CORE_CHECK not in output


def test_verify_playbook_checks_the_verify_role(ansible_playbook, tmp_path):
    inventory = _inventory(tmp_path, {"ci": {"mailops_verify_timeout": "soon"}})
    result = ansible_playbook("- import_playbook: mailops.clients.verify\n", inventory=inventory)
    output = _text(result)
    assert result.returncode == 2, output
    assert "Validation of the variables of role mailops.clients.verify failed:" in output
    assert "argument 'mailops_verify_timeout' is of type str and we were unable to convert to" in output
    assert CORE_CHECK not in output


PLAY = """
- name: Check role variables
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Check
      mailops.clients.role_arguments:
        roles: {roles}
      register: checked
    - name: Show
      ansible.builtin.debug:
        var: checked
"""


def test_the_same_messages_as_ansible_cores_own_check(ansible_playbook):
    """Both checks of one bad variable: ours and the role's implicit one (a play with roles:) say the same."""
    extra_vars = {"mailops_outlook_windows": "sometimes"}
    ours = ansible_playbook(PLAY.format(roles="[outlook]"), extra_vars=extra_vars)
    core = ansible_playbook(
        "- hosts: localhost\n  gather_facts: false\n  roles: [mailops.clients.outlook]\n", extra_vars=extra_vars
    )
    ours_output, core_output = _text(ours), _text(core)
    assert ours.returncode == core.returncode == 2, ours_output + core_output
    message = re.search(
        r"argument 'mailops_outlook_windows' is of type \S+ and we were unable to convert to bool", core_output
    )
    assert message, core_output
    assert message.group(0) in ours_output
    assert "Validation of the variables of role mailops.clients.outlook failed:" in ours_output
    assert "argument_spec_data" not in ours_output  # ansible-core < 2.19 dumps the whole specification


def test_valid_variables_pass_and_nothing_changes(ansible_playbook):
    result = ansible_playbook(PLAY.format(roles="[verify, mailops.clients.thunderbird, 'verify:gate']"), check=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert recap(result) == {"changed": 0, "failed": 0}
    assert '"argument_errors": {}' in result.stdout
    assert '"roles": [' in result.stdout


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        pytest.param(
            "[verify, thunderbrid]",
            "roles[1]: unknown role 'thunderbrid' (did you mean thunderbird?). Fix: use the name of one of the "
            "collection's roles: apple_mail, outlook, publish, thunderbird, verify.",
            id="unknown-role",
        ),
        pytest.param(
            "['verify:gat']",
            "roles[0]: role mailops.clients.verify has no entry point 'gat' (did you mean gate?). Fix: use one of "
            "gate, main.",
            id="unknown-entry-point",
        ),
    ],
)
def test_bad_role_names_are_refused_with_the_fix(ansible_playbook, roles, message):
    result = ansible_playbook(PLAY.format(roles=roles))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in flat(result.stdout + result.stderr)
