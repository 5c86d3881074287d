# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mail_roundtrip through ansible-playbook against the lab (Postfix -> LMTP -> Dovecot): check mode,
IMAP and POP3 round trips with the mailbox asked afterwards, and the failure paths."""

from __future__ import annotations

import dataclasses
import imaplib
import json
import re
import ssl

import pytest
from ansible_collections.mailops.clients.plugins.module_utils._connection import validate
from ansible_collections.mailops.clients.plugins.module_utils._errors import OptionError
from ansible_collections.mailops.clients.plugins.module_utils._roundtrip import RoundTrip, build_message

pytestmark = pytest.mark.lab

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Round trip
      mailops.clients.mail_roundtrip:
        smtp: "{{ smtp }}"
        mailbox: "{{ mailbox }}"
        from_address: "{{ from_address }}"
        to_address: "{{ to_address | default(omit) }}"
        wait_timeout: "{{ wait_timeout | default(20) }}"
        poll_interval: 0.2
      register: trip
      ignore_errors: true
    - ansible.builtin.copy:
        content: "{{ trip | to_json }}"
        dest: "{{ out }}"
      check_mode: false
"""


def run_trip(ansible_playbook, tmp_path, check=False, **extra):
    out = tmp_path / "trip.json"
    run = ansible_playbook(PLAY, extra_vars={"out": str(out), **extra}, check=check)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(out.read_text()), run


def search(lab, user, message_id):
    """Ask the server (not the module) which messages carry this Message-ID."""
    context = ssl.create_default_context(cafile=lab.ca_path)
    with imaplib.IMAP4_SSL(lab.host, lab.ports["imaps"], ssl_context=context, timeout=10) as client:
        client.login(user, lab.users[user])
        client.select("INBOX")
        _unused, data = client.uid("SEARCH", "HEADER", "Message-ID", message_id)
        return data[0].split()


def submission(lab, user="alice@example.test"):
    return {"host": lab.host, "port": lab.ports["submission"], "security": "starttls", "ca_path": lab.ca_path,
            "username": user, "password": lab.users[user]}  # fmt: skip


def mailbox(lab, user, protocol="imap"):
    port = lab.ports["imaps" if protocol == "imap" else "pop3s"]
    return {"protocol": protocol, "host": lab.host, "port": port, "ca_path": lab.ca_path, "username": user,
            "password": lab.users[user]}  # fmt: skip


def test_check_mode_sends_nothing(mail_lab, ansible_playbook, tmp_path):
    trip, _unused = run_trip(
        ansible_playbook,
        tmp_path,
        check=True,
        smtp=submission(mail_lab),
        mailbox=mailbox(mail_lab, "bob@example.test"),
        from_address="alice@example.test",
    )
    assert (trip["changed"], trip["skipped"]) == (False, True)
    assert trip["msg"] == "check mode: no test message was sent and no mailbox was read"
    assert "message_id" not in trip


def test_imap_round_trip_delivers_measures_and_deletes(mail_lab, ansible_playbook, tmp_path):
    trip, run = run_trip(
        ansible_playbook,
        tmp_path,
        smtp=submission(mail_lab),
        mailbox=mailbox(mail_lab, "bob@example.test"),
        from_address="alice@example.test",
    )
    assert trip["failed"] is False, trip
    assert (trip["changed"], trip["verdict"], trip["delivered"], trip["deleted"]) == (True, "ok", True, True)
    assert trip["findings"] == []
    assert trip["message_id"].startswith("<mailops-roundtrip.") and trip["message_id"].endswith("@example.test>")
    assert 0 < trip["latency_ms"] < 20000
    assert trip["smtp_response"].startswith("2.0.0 Ok: queued as ")
    assert search(mail_lab, "bob@example.test", trip["message_id"]) == []
    assert mail_lab.users["alice@example.test"] not in run.stdout + run.stderr


def test_pop3_round_trip_through_the_mx_port(mail_lab, ansible_playbook, tmp_path):
    mx = {"host": mail_lab.host, "port": mail_lab.ports["smtp"], "security": "none"}
    trip, _unused = run_trip(
        ansible_playbook,
        tmp_path,
        smtp=mx,
        mailbox=mailbox(mail_lab, "carol@example.test", "pop3"),
        from_address="monitor@elsewhere.test",
    )
    assert (trip["changed"], trip["delivered"], trip["deleted"], trip["verdict"]) == (True, True, True, "ok"), trip
    assert [(f["code"], f["severity"], f["endpoint"]) for f in trip["findings"]] == [
        ("insecure_plaintext_connection", "info", f"smtp://127.0.0.1:{mail_lab.ports['smtp']}/none"),
        ("auth_not_offered", "info", f"smtp://127.0.0.1:{mail_lab.ports['smtp']}/none"),
    ]
    assert search(mail_lab, "carol@example.test", trip["message_id"]) == []


def test_rejected_recipient_fails_without_sending(mail_lab, ansible_playbook, tmp_path):
    trip, _unused = run_trip(
        ansible_playbook,
        tmp_path,
        smtp=submission(mail_lab),
        mailbox=mailbox(mail_lab, "bob@example.test"),
        from_address="alice@example.test",
        to_address="nobody@example.test",
    )
    assert (trip["failed"], trip["changed"], trip["delivered"]) == (True, False, False)
    assert [f["code"] for f in trip["findings"]] == ["message_rejected"]
    assert trip["findings"][0]["message"].startswith(
        "the SMTP server rejected the test message at RCPT TO: '550 5.1.1 <nobody@example.test>: Recipient address "
        "rejected"
    )
    assert trip["msg"].startswith(
        f"round trip smtp://127.0.0.1:{mail_lab.ports['submission']}/starttls -> "
        f"imap://127.0.0.1:{mail_lab.ports['imaps']}/tls did not pass (fail_on=error, error findings): "
        "message_rejected: "
    )


def test_message_that_never_arrives_is_a_delivery_timeout(mail_lab, ansible_playbook, tmp_path):
    # Sent to alice, but the module watches bob's mailbox.
    trip, _unused = run_trip(
        ansible_playbook,
        tmp_path,
        smtp=submission(mail_lab),
        mailbox=mailbox(mail_lab, "bob@example.test"),
        from_address="alice@example.test",
        to_address="alice@example.test",
        wait_timeout=1.5,
    )
    assert (trip["failed"], trip["changed"], trip["delivered"], trip["deleted"]) == (True, True, False, False)
    assert [(f["code"], f["message"]) for f in trip["findings"]] == [
        ("delivery_timeout", "the test message did not arrive in the mailbox within 1.5s")
    ]
    assert len(search(mail_lab, "alice@example.test", trip["message_id"])) == 1


def test_wrong_mailbox_password_sends_nothing(mail_lab):
    smtp = validate(submission(mail_lab), "smtp")
    box = dataclasses.replace(
        validate(dict(mailbox(mail_lab, "bob@example.test"), password="not-bobs"), "imap"), source_address="127.0.0.16"
    )
    result = RoundTrip(smtp, box, "alice@example.test", "bob@example.test", 5, 0.2).run()
    assert (result.sent, result.delivered, result.smtp_response, result.verdict) == (False, False, None, "error")
    assert [(f["code"], f["endpoint"]) for f in result.findings] == [("auth_failed", box.label)]
    assert "not-bobs" not in json.dumps(result.as_dict())


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_the_round_trip_api_per_account(mail_lab, protocol):
    # what a caller other than the module (one account of a verify run) gets: the result object, no Ansible
    smtp = validate(submission(mail_lab, "carol@example.test"), "smtp")
    box = validate(mailbox(mail_lab, "carol@example.test", protocol), protocol)
    result = RoundTrip(smtp, box, "carol@example.test", wait_timeout=20, poll_interval=0.2).run()
    assert (result.sent, result.delivered, result.deleted, result.verdict, result.findings) == (
        True, True, True, "ok", []
    )  # fmt: skip
    assert 0 < result.latency_ms < 20000
    assert all(result.timings_ms[k] > 0 for k in ("mailbox_login", "send", "cleanup")), result.timings_ms
    assert result.as_dict()["changed"] is True
    if protocol == "imap":
        assert search(mail_lab, "carol@example.test", result.message_id) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"to_address": "<bob@example.test>"}, "to_address must be a plain mail address, got '<bob@example.test>'"),
        ({"from_address": "a b@example.test"}, "from_address must be a plain mail address, got 'a b@example.test'"),
        ({"wait_timeout": 0}, "wait_timeout must be more than 0 and at most 3600 seconds, got 0"),
        ({"poll_interval": 601}, "poll_interval must be more than 0 and at most 600 seconds, got 601"),
    ],
)
def test_round_trip_arguments_are_checked_before_any_connection(changes, message):
    smtp = validate({"host": "127.0.0.1", "port": 9, "security": "none"}, "smtp")
    box = validate({"host": "127.0.0.1", "port": 9, "username": "bob@example.test", "password": "x"}, "imap")
    arguments = dict({"from_address": "alice@example.test", "to_address": None}, **changes)
    with pytest.raises(OptionError, match=f"^{re.escape(message)}$"):
        RoundTrip(smtp, box, **arguments)


def test_build_message_is_tagged_and_crlf():
    text, message_id = build_message("alice@example.test", "bob@example.test", "abc123")
    assert message_id == "<mailops-roundtrip.abc123@example.test>"
    assert "\r\nMessage-ID: <mailops-roundtrip.abc123@example.test>\r\n" in text
    assert "\r\nX-Mailops-Roundtrip: abc123\r\n" in text
    assert "Subject: mailops.clients round trip abc123\r\n" in text
