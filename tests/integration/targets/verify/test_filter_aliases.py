# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Renamed filters: the old names still work through Ansible's plugin routing (meta/runtime.yml) and say, in a
deprecation warning, which name to use; the new names give the same result without a warning. No mail lab needed."""

from __future__ import annotations

import json

import pytest
from ansible.release import __version__ as _core_version

pytestmark = pytest.mark.slow

SERVERS = {
    "s": {"incoming": {"protocol": "imap", "host": "mail.example.test"}, "outgoing": {"host": "mail.example.test"}}
}
ACCOUNTS = [{"email": "a@example.test", "server": "s", "user": "alice"}]
PLAY = """
- name: Old and new filter names
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Show both results
      ansible.builtin.debug:
        msg: "{{{{ {{'old': accounts | mailops.clients.{old}, 'new': accounts | mailops.clients.{new}}} | to_json }}}}"
      vars:
        accounts: "{{{{ mailops_accounts | mailops.clients.mail_accounts_normalize(mailops_servers) }}}}"
"""

ansible_version = tuple(int(part) for part in _core_version.split(".")[:2])


@pytest.mark.parametrize(
    ("old", "new"), [("mobileconfig", "mail_mobileconfig"), ("outlook_windows", "mail_outlook_windows")]
)
def test_old_filter_name_is_a_deprecated_alias(ansible_playbook, old, new):
    result = ansible_playbook(
        PLAY.format(old=old, new=new), extra_vars={"mailops_servers": SERVERS, "mailops_accounts": ACCOUNTS}
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    flat = " ".join(output.split())
    # ansible-core 2.16 resolves a deprecated filter redirect without printing the deprecation (2.17+ print it)
    if ansible_version[:2] >= (2, 17):
        assert f"mailops.clients.{old}" in flat and "has been deprecated" in flat, output
        assert f"Use mailops.clients.{new} instead" in flat, output
        assert "version 1.0.0" in flat, output
    assert f'mailops.clients.{new}" has been deprecated' not in flat
    line = next(x for x in result.stdout.splitlines() if '"msg":' in x)
    both = json.loads(json.loads("{" + line.strip().rstrip(",") + "}")["msg"])
    assert both["old"] == both["new"] and both["new"]
