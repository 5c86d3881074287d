# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pop3_server_info: engine cases against the lab Dovecot, and the module through ansible-playbook."""

from __future__ import annotations

import json
from pathlib import Path

import faultservers as fs
import pytest

pytestmark = pytest.mark.lab

ALICE = "alice@example.test"


def pop3(lab, port="pop3s", **params):
    params.setdefault("host", lab.host)
    params.setdefault("ca_path", lab.ca_path)
    params.setdefault("timeout", 5)
    return fs.check("pop3", port=lab.ports[port], **params)


@pytest.mark.parametrize("mechanism", ["auto", "PLAIN", "LOGIN", "CRAM-MD5"])
@pytest.mark.parametrize(("port", "security"), [("pop3s", "tls"), ("pop3", "starttls")])
def test_password_login_in_every_tls_mode(mail_lab, mechanism, port, security):
    result = pop3(
        mail_lab,
        port=port,
        security=security,
        username=ALICE,
        password=mail_lab.users[ALICE],
        auth_mechanism=mechanism,
        source_address="127.0.0.2",
    )
    assert (result["verdict"], result["findings"]) == ("ok", [])
    assert result["login"]["succeeded"] is True
    assert result["login"]["mechanism"] == ("PLAIN" if mechanism == "auto" else mechanism)
    assert "SASL PLAIN LOGIN CRAM-MD5 OAUTHBEARER XOAUTH2" in result["capabilities"]["after_tls"]
    if security == "starttls":
        assert "STLS" in result["capabilities"]["before_tls"]
        assert result["auth_mechanisms"]["before_tls"] == ["CRAM-MD5"]


@pytest.mark.parametrize("mechanism", ["OAUTHBEARER", "XOAUTH2"])
def test_oauth_login(mail_lab, mechanism):
    result = pop3(mail_lab, username=ALICE, oauth2_token=mail_lab.oauth2_token(ALICE), auth_mechanism=mechanism)
    assert (result["verdict"], result["login"]["mechanism"], result["login"]["succeeded"]) == ("ok", mechanism, True)


def test_wrong_password(mail_lab):
    result = pop3(mail_lab, username="bob@example.test", password="not-bobs-pw", source_address="127.0.0.14")
    assert fs.codes(result) == [("auth_failed", "error")]
    assert result["findings"][0]["message"] == (
        "authentication of 'bob@example.test' with PLAIN failed: '-ERR [AUTH] Authentication failed.'"
    )
    assert "not-bobs-pw" not in json.dumps(result)


def test_plaintext_from_a_non_secured_address(mail_lab):
    # Dovecot hides USER and the cleartext SASL mechanisms before STLS for 127.0.0.2: only CRAM-MD5 is left.
    result = pop3(
        mail_lab,
        port="pop3",
        security="none",
        username=ALICE,
        password=mail_lab.users[ALICE],
        auth_mechanism="PLAIN",
        source_address="127.0.0.2",
    )
    assert fs.codes(result) == [("insecure_plaintext_connection", "warning"), ("auth_mechanism_not_offered", "error")]
    assert result["findings"][1]["message"] == "auth_mechanism PLAIN is not offered by the server (offered: CRAM-MD5)"
    cram = pop3(
        mail_lab,
        port="pop3",
        security="none",
        username=ALICE,
        password=mail_lab.users[ALICE],
        source_address="127.0.0.2",
    )
    assert fs.codes(cram) == [("insecure_plaintext_connection", "warning")]
    assert cram["login"]["mechanism"] == "CRAM-MD5"


def test_user_pass_over_plaintext_is_cleartext(mail_lab):
    result = pop3(
        mail_lab, port="pop3", security="none", username=ALICE, password=mail_lab.users[ALICE], auth_mechanism="LOGIN"
    )
    assert fs.codes(result) == [
        ("insecure_plaintext_connection", "warning"),
        ("plaintext_auth_before_tls", "warning"),
        ("cleartext_credentials", "warning"),
    ]


USUAL_POP3 = "To check POP3 instead, use its port: usually 995 with security tls, or 110 with security starttls."


@pytest.mark.parametrize(
    ("port", "security", "code", "fix"),
    [
        ("imaps", "tls", "wrong_protocol",
         "Port {port} serves IMAP, not POP3. To check it as IMAP, set protocol imap with security tls "
         "(mailops.clients.imap_server_info; inventory: incoming.protocol imap, incoming.security tls). " + USUAL_POP3),
        ("imap", "tls", "wrong_protocol",
         "Port {port} serves IMAP, not POP3. To check it as IMAP, set protocol imap with security starttls "
         "(mailops.clients.imap_server_info; inventory: incoming.protocol imap, incoming.security starttls). "
         + USUAL_POP3),
        ("pop3", "tls", "plaintext_on_tls_port",
         "Port {port} speaks plaintext POP3: use security starttls for it (none only if it offers no STARTTLS), "
         "or POP3's implicit TLS port (usually 995) with security tls."),
        ("pop3s", "starttls", "tls_on_plaintext_port",
         "Use security tls for port {port}, or POP3's STARTTLS port (usually 110) with security starttls."),
        ("imaps", "starttls", "wrong_protocol",
         "Port {port} serves IMAP, not POP3. To check it as IMAP, set protocol imap with security tls "
         "(mailops.clients.imap_server_info; inventory: incoming.protocol imap, incoming.security tls). " + USUAL_POP3),
    ],
)  # fmt: skip
def test_port_mismatches(mail_lab, port, security, code, fix):
    result = pop3(mail_lab, port=port, security=security, timeout=1)
    assert fs.codes(result)[-1] == (code, "error")
    assert result["findings"][-1]["fix"] == fix.format(port=mail_lab.ports[port])


def test_module_through_ansible_playbook(mail_lab, ansible_playbook):
    play = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: POP3S with a password
      mailops.clients.pop3_server_info:
        host: "{{ lab.host }}"
        port: "{{ lab.ports.pop3s }}"
        ca_path: "{{ lab.ca_path }}"
        username: alice@example.test
        password: "{{ alice_pw }}"
      register: good
    - name: STLS port with security tls (plaintext on a TLS port), reported only
      mailops.clients.pop3_server_info:
        host: "{{ lab.host }}"
        port: "{{ lab.ports.pop3 }}"
        ca_path: "{{ lab.ca_path }}"
        fail_on: never
      register: mismatch
    - name: Check mode runs the same checks
      mailops.clients.pop3_server_info:
        host: "{{ lab.host }}"
        port: "{{ lab.ports.pop3s }}"
        ca_path: "{{ lab.ca_path }}"
      check_mode: true
      register: checked
    - ansible.builtin.copy:
        content: "{{ {'good': good, 'mismatch': mismatch, 'checked': checked} | to_json }}"
        dest: "{{ out }}"
"""
    out = Path(mail_lab.root) / "pop3-results.json"
    run = ansible_playbook(
        play, extra_vars={"lab": mail_lab.describe(), "alice_pw": mail_lab.users[ALICE], "out": str(out)}
    )
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(out.read_text())
    good = results["good"]
    assert (good["changed"], good["verdict"], good["login"]["succeeded"]) == (False, "ok", True)
    assert good["endpoint"]["port"] == mail_lab.ports["pop3s"]
    assert [f["code"] for f in results["mismatch"]["findings"]] == ["plaintext_on_tls_port"]
    assert results["mismatch"]["failed"] is False
    assert (results["checked"]["changed"], results["checked"]["verdict"]) == (False, "ok")
    assert mail_lab.users[ALICE] not in run.stdout + out.read_text()
