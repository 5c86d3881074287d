# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""smtp_server_info against the lab Postfix (SASL through Dovecot), and all three modules through Ansible:
fail_on, check mode and no secret in -vvvv output."""

from __future__ import annotations

import json

import faultservers as fs
import pytest

pytestmark = pytest.mark.lab

ALICE = "alice@example.test"


def smtp(lab, port="submissions", **params):
    params.setdefault("host", lab.host)
    params.setdefault("ca_path", lab.ca_path)
    params.setdefault("timeout", 8)
    return fs.check("smtp", port=lab.ports[port], **params)


@pytest.mark.parametrize("mechanism", ["auto", "PLAIN", "LOGIN", "CRAM-MD5"])
@pytest.mark.parametrize(("port", "security"), [("submissions", "tls"), ("submission", "starttls")])
def test_submission_auth_with_passwords(mail_lab, port, security, mechanism):
    result = smtp(
        mail_lab, port=port, security=security, username=ALICE, password=mail_lab.users[ALICE], auth_mechanism=mechanism
    )
    assert (result["verdict"], result["findings"]) == ("ok", [])
    assert result["login"] == {"attempted": True, "succeeded": True, "username": ALICE,
                               "mechanism": "PLAIN" if mechanism == "auto" else mechanism}  # fmt: skip
    assert result["auth_mechanisms"]["after_tls"] == ["PLAIN", "LOGIN", "CRAM-MD5", "OAUTHBEARER", "XOAUTH2"]
    if security == "starttls":
        # smtpd_tls_auth_only: no AUTH before STARTTLS, so no plaintext_auth_before_tls even from 127.0.0.1.
        assert "STARTTLS" in result["capabilities"]["before_tls"]
        assert result["auth_mechanisms"]["before_tls"] == []
        assert "STARTTLS" not in result["capabilities"]["after_tls"]


@pytest.mark.parametrize("mechanism", ["OAUTHBEARER", "XOAUTH2"])
def test_submission_auth_with_oauth(mail_lab, mechanism):
    result = smtp(mail_lab, username=ALICE, oauth2_token=mail_lab.oauth2_token(ALICE), auth_mechanism=mechanism)
    assert (result["verdict"], result["login"]["mechanism"], result["login"]["succeeded"]) == ("ok", mechanism, True)


def test_mx_port_without_and_with_credentials(mail_lab):
    mx = smtp(mail_lab, port="smtp", security="none")
    assert mx["verdict"] == "ok"
    assert fs.codes(mx) == [("insecure_plaintext_connection", "info"), ("auth_not_offered", "info")]
    with_credentials = smtp(mail_lab, port="smtp", security="none", username=ALICE, password=mail_lab.users[ALICE])
    assert fs.codes(with_credentials) == [("insecure_plaintext_connection", "warning"), ("auth_not_offered", "error")]
    assert with_credentials["findings"][1]["message"] == "the server offers no authentication on this connection"
    assert with_credentials["login"]["attempted"] is False


def test_starttls_required_but_mx_has_none(mail_lab):
    result = smtp(mail_lab, port="smtp", security="starttls")
    assert fs.codes(result) == [("starttls_not_offered", "error")]
    assert result["findings"][0]["message"] == (
        "security is starttls, but the server does not advertise STARTTLS; nothing was sent in plaintext"
    )


def test_wrong_password(mail_lab):
    result = smtp(mail_lab, username=ALICE, password="wrong-smtp-pw", source_address="127.0.0.15")
    assert fs.codes(result) == [("auth_failed", "error")]
    assert result["findings"][0]["message"] == (
        "authentication of 'alice@example.test' with PLAIN failed: '535 5.7.8 Error: authentication failed: "
        "(reason unavailable)'"
    )
    assert "wrong-smtp-pw" not in json.dumps(result)


USUAL_SMTP = "To check SMTP instead, use its port: usually 465 with security tls, or 587 with security starttls."


@pytest.mark.parametrize(
    ("port", "security", "code", "fix"),
    [
        ("imaps", "tls", "wrong_protocol",
         "Port {port} serves IMAP, not SMTP. To check it as IMAP, set protocol imap with security tls "
         "(mailops.clients.imap_server_info; inventory: incoming.protocol imap, incoming.security tls). " + USUAL_SMTP),
        ("submission", "tls", "plaintext_on_tls_port",
         "Port {port} speaks plaintext SMTP: use security starttls for it (none only if it offers no STARTTLS), "
         "or SMTP's implicit TLS port (usually 465) with security tls."),
        ("submissions", "starttls", "tls_on_plaintext_port",
         "Use security tls for port {port}, or SMTP's STARTTLS port (usually 587) with security starttls."),
        ("pop3", "none", "wrong_protocol",
         "Port {port} serves POP3, not SMTP. To check it as POP3, set protocol pop3 with security starttls "
         "(mailops.clients.pop3_server_info; inventory: incoming.protocol pop3, incoming.security starttls). "
         + USUAL_SMTP),
    ],
)  # fmt: skip
def test_port_mismatches(mail_lab, port, security, code, fix):
    result = smtp(mail_lab, port=port, security=security, timeout=1)
    assert fs.codes(result)[-1] == (code, "error")
    assert result["findings"][-1]["fix"] == fix.format(port=mail_lab.ports[port])


# --- through Ansible ---------------------------------------------------------------------------------

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: IMAPS, the right password
      mailops.clients.imap_server_info:
        host: "{{ lab.host }}"
        port: "{{ lab.ports.imaps }}"
        ca_path: "{{ lab.ca_path }}"
        username: alice@example.test
        password: "{{ alice_pw }}"
      register: imap_ok
    - name: Submission with an OAuth token
      mailops.clients.smtp_server_info:
        host: "{{ lab.host }}"
        port: "{{ lab.ports.submission }}"
        security: starttls
        ca_path: "{{ lab.ca_path }}"
        username: alice@example.test
        oauth2_token: "{{ alice_token }}"
      register: smtp_ok
    - name: A wrong password and a wrong name fail the task with every error finding
      mailops.clients.imap_server_info:
        host: "{{ lab.host }}"
        port: "{{ lab.ports.imaps }}"
        ca_path: "{{ lab.ca_path }}"
        server_name: imap.wrong.test
        username: alice@example.test
        password: "{{ wrong_pw }}"
        timeout: 15
      register: imap_bad
      ignore_errors: true
    - name: Accounts through SMTP, one wrong
      mailops.clients.smtp_server_info:
        host: "{{ lab.host }}"
        port: "{{ lab.ports.submissions }}"
        ca_path: "{{ lab.ca_path }}"
        accounts:
          - username: alice@example.test
            password: "{{ alice_pw }}"
          - username: bob@example.test
            password: "{{ wrong_pw }}"
        fail_on: never
        timeout: 15
      register: smtp_accounts
    - ansible.builtin.copy:
        content: "{{ {'imap_ok': imap_ok, 'smtp_ok': smtp_ok, 'imap_bad': imap_bad,
                      'smtp_accounts': smtp_accounts} | to_json }}"
        dest: "{{ out }}"
"""


def test_modules_through_ansible_never_show_secrets_even_at_vvvv(mail_lab, ansible_playbook, tmp_path):
    token = mail_lab.oauth2_token(ALICE)
    wrong = "Wr0ng-pw-for-alice"
    out = tmp_path / "results.json"
    run = ansible_playbook(
        PLAY,
        extra_vars={"lab": mail_lab.describe(), "alice_pw": mail_lab.users[ALICE], "alice_token": token,
                    "wrong_pw": wrong, "out": str(out)},
        verbosity=4,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    everything = run.stdout + run.stderr + out.read_text()
    for secret in (mail_lab.users[ALICE], token, wrong, token[:40]):
        assert secret not in everything
    results = json.loads(out.read_text())
    assert results["imap_ok"]["verdict"] == "ok" and results["imap_ok"]["login"]["succeeded"] is True
    assert results["smtp_ok"]["verdict"] == "ok" and results["smtp_ok"]["login"]["mechanism"] == "OAUTHBEARER"
    bad = results["imap_bad"]
    assert bad["failed"] is True
    assert bad["msg"] == (
        f"imap://127.0.0.1:{mail_lab.ports['imaps']}/tls did not pass (fail_on=error, error findings): "
        "cert_hostname_mismatch: the server certificate does not cover 'imap.wrong.test' (names in the "
        "certificate: DNS:mail.example.test, DNS:localhost, IP:127.0.0.1)"
    )
    # The result keys are still there when the task fails.
    assert bad["verdict"] == "error" and bad["certificate"]["hostname_matches"] is False
    assert bad["login"]["attempted"] is False  # never log in over a connection whose certificate failed
    accounts = results["smtp_accounts"]
    assert [(a["username"], a["verdict"]) for a in accounts["accounts"]] == [
        ("alice@example.test", "ok"),
        ("bob@example.test", "error"),
    ]
    assert [f["code"] for f in accounts["accounts"][1]["findings"]] == ["auth_failed"]
    assert accounts["findings"][-1]["message"] == "1 of 2 accounts did not pass: bob@example.test"
    # Ansible's echo of the arguments (-vvv): the accounts summarized (masking them is quadratic), secrets masked
    assert '"accounts": "2 accounts, results in accounts"' in run.stdout
    assert '"password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in run.stdout


def test_option_errors_and_check_mode_through_ansible(mail_lab, ansible_playbook, tmp_path):
    out = tmp_path / "results.json"
    play = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Contradictory options are refused before connecting
      mailops.clients.smtp_server_info:
        host: "{{ lab.host }}"
        username: alice@example.test
        password: x
        auth_mechanism: XOAUTH2
      register: contradiction
      ignore_errors: true
    - name: Check mode still checks (read-only)
      mailops.clients.smtp_server_info:
        host: "{{ lab.host }}"
        port: "{{ lab.ports.submission }}"
        security: starttls
        ca_path: "{{ lab.ca_path }}"
      check_mode: true
      register: checked
    - ansible.builtin.copy:
        content: "{{ {'contradiction': contradiction, 'checked': checked} | to_json }}"
        dest: "{{ out }}"
"""
    run = ansible_playbook(play, extra_vars={"lab": mail_lab.describe(), "out": str(out)})
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(out.read_text())
    assert results["contradiction"]["msg"] == "options: auth_mechanism XOAUTH2 needs oauth2_token, not a password"
    assert "Traceback" not in run.stdout + run.stderr
    checked = results["checked"]
    assert (checked["changed"], checked["verdict"]) == (False, "ok")
    assert checked["tls"]["version"] == "TLSv1.3"
