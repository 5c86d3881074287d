# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""No way around the verify gate by omission: a renderer action without ``gate`` renders nothing.

Through ansible-playbook (no mail lab needed: nothing is verified, which is the point): without ``gate`` the task
fails with the message that names both ways out and writes no file; ``gate: {allow_unverified: true}`` renders
with a warning.
"""

from __future__ import annotations

import pytest
from ansible_recap import flat_output

pytestmark = pytest.mark.slow

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Outlook files
      mailops.clients.outlook_profiles:
        accounts: >-
          {{ [{'email': 'alice@example.test', 'server': 'example', 'user': 'alice'}]
             | mailops.clients.mail_accounts_normalize(servers, host=inventory_hostname) }}
        dest_dir: "{{ out }}"
        gate: "{{ gate | default(omit) }}"
"""
SERVERS = {
    "example": {
        "incoming": {"protocol": "imap", "host": "mail.example.test"},
        "outgoing": {"host": "mail.example.test"},
    }
}
# what the renderer wrote, and the manifest of it that lives beside it (docs/lifecycle.md)
FILES = [".mailops-clients-outlook.json", "alice/autodiscover/example.test.xml", "alice/mailops-outlook.reg"]
NO_GATE = (
    "refusing to render without the verify gate: option gate is not set. Set gate.verified to the mailops_verified "
    "fact of the mailops.clients.verify role to render the accounts that verified, or pass "
    "gate: {allow_unverified: true} to render accounts that were not verified"
)


def test_a_renderer_without_gate_refuses_and_writes_nothing(ansible_playbook, tmp_path):
    out = tmp_path / "outlook"
    result = ansible_playbook(PLAY, extra_vars={"servers": SERVERS, "out": str(out)})
    assert result.returncode == 2, result.stdout
    assert NO_GATE in result.stdout + result.stderr
    assert not out.exists()


def test_allow_unverified_renders_with_a_warning(ansible_playbook, tmp_path):
    out = tmp_path / "outlook"
    extra = {"servers": SERVERS, "out": str(out), "gate": {"allow_unverified": True}}
    result = ansible_playbook(PLAY, extra_vars=extra)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]: rendering 1 account on localhost whose settings did not verify (alice@example.test)" in (
        flat_output(result)
    )
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == FILES
