# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The autoconfig XML files (one per mail domain) of thunderbird_profiles output=autoconfig_xml: the file of a
domain whose accounts are offboarded or gone is removed (by the manifest beside them), check mode removes nothing,
a second run changes nothing."""

from __future__ import annotations

import json

import pytest
from ansible_recap import recap

pytestmark = pytest.mark.slow

PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Autoconfig XML per domain
      mailops.clients.thunderbird_profiles:
        accounts: "{{ mailops_accounts | mailops.clients.mail_accounts_normalize(mailops_servers, host='h') }}"
        gate: {allow_unverified: true}
        output: autoconfig_xml
        dest: "{{ out }}"
        xml_filename: "{domain}/mail/config-v1.1.xml"
"""
SERVERS = {
    "example": {
        "incoming": {"protocol": "imap", "host": "mail.example.test", "security": "tls"},
        "outgoing": {"host": "mail.example.test", "security": "starttls"},
    }
}
MANIFEST = ".mailops-clients-thunderbird_autoconfig.json"


def test_the_file_of_a_domain_without_accounts_is_removed(ansible_playbook, tmp_path):
    out = tmp_path / "xml"

    def run(accounts, check=False):
        extra = {"mailops_servers": SERVERS, "mailops_accounts": accounts, "out": str(out)}
        return ansible_playbook(PLAY, extra_vars=extra, check=check)

    def files():
        return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())

    both = [
        {"email": "alice@example.test", "server": "example"},
        {"email": "bob@other.test", "server": "example"},
    ]
    assert recap(run(both)) == {"changed": 1, "failed": 0}
    assert files() == [MANIFEST, "example.test/mail/config-v1.1.xml", "other.test/mail/config-v1.1.xml"]
    assert json.loads((out / MANIFEST).read_text())["files"]["other.test/mail/config-v1.1.xml"]["accounts"] == [
        "bob@other.test"
    ]
    kept = (out / "example.test" / "mail" / "config-v1.1.xml").read_bytes()

    offboarded = [both[0], {**both[1], "state": "absent"}]
    check = run(offboarded, check=True)
    assert recap(check) == {"changed": 1, "failed": 0}, check.stdout
    assert "other.test/mail/config-v1.1.xml" in files()
    done = run(offboarded)
    assert recap(done) == {"changed": 1, "failed": 0}, done.stdout
    assert files() == [MANIFEST, "example.test/mail/config-v1.1.xml"]
    assert (out / "example.test" / "mail" / "config-v1.1.xml").read_bytes() == kept
    assert recap(run(offboarded)) == {"changed": 0, "failed": 0}
