# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""allow_insecure: a cleartext-only IMAP server (a real Dovecot without TLS) that accepts the login is a warning
when asked for explicitly, and stays an error otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import faultservers as fs
import pytest

pytestmark = pytest.mark.lab

ALICE = "alice@example.test"
EXPOSED = (
    "the server offers password login (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2, the LOGIN command) but no TLS on this port: "
    "passwords can only be sent unencrypted"
)
PLAINTEXT = "security is none: the whole session, including any credentials, crosses the network unencrypted"
SENT_IN_CLEAR = "credentials were sent with PLAIN over an unencrypted connection"


@pytest.fixture(scope="module")
def legacy(mail_lab):
    with fs.cleartext_dovecot(mail_lab) as lab:
        yield lab


def login(legacy, **params):
    return fs.check(
        "imap", host=fs.CLEARTEXT_HOST, port=legacy.ports["imap"], security="none", timeout=5, username=ALICE,
        password=legacy.users[ALICE], auth_mechanism="PLAIN", **params,
    )  # fmt: skip


def findings(result):
    return [(f["code"], f["severity"], f["message"]) for f in result["findings"]]


def test_opted_in_cleartext_login_is_a_warning_that_names_the_exposure(legacy):
    result = login(legacy, allow_insecure=True)
    assert result["login"]["succeeded"] is True
    assert result["verdict"] == "warning"
    assert findings(result) == [
        ("insecure_plaintext_connection", "warning", PLAINTEXT),
        ("cleartext_auth_only", "warning", EXPOSED + " (accepted with allow_insecure)"),
        ("cleartext_credentials", "warning", SENT_IN_CLEAR),
    ]
    assert result["capabilities"]["before_tls"] and "STARTTLS" not in result["capabilities"]["before_tls"]


def test_without_the_opt_in_it_stays_an_error(legacy):
    result = login(legacy)
    assert result["login"]["succeeded"] is True
    assert result["verdict"] == "error"
    assert findings(result) == [
        ("insecure_plaintext_connection", "warning", PLAINTEXT),
        ("cleartext_auth_only", "error", EXPOSED),
        ("cleartext_credentials", "warning", SENT_IN_CLEAR),
    ]


def test_the_opt_in_does_not_excuse_a_failed_login(legacy):
    result = fs.check(
        "imap", host=fs.CLEARTEXT_HOST, port=legacy.ports["imap"], security="none", timeout=5, username=ALICE,
        password="wrong-legacy-pw", allow_insecure=True, source_address="127.0.0.13",
    )  # fmt: skip
    assert result["verdict"] == "error"
    assert [(f["code"], f["severity"]) for f in result["findings"]][-1] == ("auth_failed", "error")


def test_the_module_option(legacy, ansible_playbook):
    play = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: A legacy server without TLS, accepted explicitly
      mailops.clients.imap_server_info:
        host: "{{ host }}"
        port: "{{ port }}"
        security: none
        allow_insecure: true
        username: alice@example.test
        password: "{{ pw }}"
      register: opted_in
    - name: The same without the opt-in
      mailops.clients.imap_server_info:
        host: "{{ host }}"
        port: "{{ port }}"
        security: none
        username: alice@example.test
        password: "{{ pw }}"
      register: not_opted_in
      ignore_errors: true
    - ansible.builtin.copy:
        content: "{{ {'opted_in': opted_in, 'not_opted_in': not_opted_in} | to_json }}"
        dest: "{{ out }}"
"""
    out = Path(legacy.root) / "opt-in.json"
    run = ansible_playbook(
        play,
        extra_vars={
            "host": fs.CLEARTEXT_HOST,
            "port": legacy.ports["imap"],
            "pw": legacy.users[ALICE],
            "out": str(out),
        },
    )
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(out.read_text())
    opted_in, not_opted_in = results["opted_in"], results["not_opted_in"]
    assert (opted_in["failed"], opted_in["verdict"], opted_in["login"]["succeeded"]) == (False, "warning", True)
    assert [(f["code"], f["severity"]) for f in opted_in["findings"]] == [
        ("insecure_plaintext_connection", "warning"), ("cleartext_auth_only", "warning")
    ]  # fmt: skip
    assert (not_opted_in["failed"], not_opted_in["verdict"]) == (True, "error")
    assert not_opted_in["msg"] == (
        f"imap://{fs.CLEARTEXT_HOST}:{legacy.ports['imap']}/none did not pass (fail_on=error, error findings): "
        f"cleartext_auth_only: {EXPOSED}"
    )
