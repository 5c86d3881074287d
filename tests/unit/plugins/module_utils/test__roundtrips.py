# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The batch of round trips: the total budget (the lab tests cover delivery, misrouting and timeouts)."""

from __future__ import annotations

import re
import time

import pytest
from ansible_collections.mailops.clients.plugins.module_utils._connection import validate
from ansible_collections.mailops.clients.plugins.module_utils._errors import OptionError
from ansible_collections.mailops.clients.plugins.module_utils._roundtrip import RoundTrip, build_message
from ansible_collections.mailops.clients.plugins.module_utils._roundtrips import Batch, status


def _trip():
    creds = {"username": "a@example.test", "password": "x"}
    smtp = validate({"host": "127.0.0.1", "port": 9, **creds}, "smtp")
    mailbox = validate({"host": "127.0.0.1", "port": 9, **creds}, "imap")
    return RoundTrip(smtp, mailbox, "a@example.test")


def test_a_round_trip_that_cannot_start_within_the_budget_does_not_run():
    started = time.monotonic()
    outcomes = Batch([("a", _trip()), ("b", _trip())], concurrency=1, budget=0.5).run()
    assert time.monotonic() - started < 0.5  # no connection was even tried
    for outcome in outcomes.values():
        assert (outcome["status"], outcome["sent"], outcome["verdict"]) == ("not_run", False, "error")
        [finding] = outcome["findings"]
        assert finding["code"] == "roundtrip_budget_exhausted"
        assert (
            finding["message"]
            == "the round trip did not run: the total budget of 0.5s was used up by the round trips before it"
        )
        assert finding["endpoint"] == "imap://127.0.0.1:9/tls"


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ({"not_run": True, "sent": False, "delivered": False}, "not_run"),
        ({"delivered_elsewhere": {"username": "b"}, "sent": True, "delivered": False}, "delivered_elsewhere"),
        ({"sent": True, "delivered": True}, "delivered"),
        ({"sent": True, "delivered": False}, "not_delivered"),
        ({"sent": False, "delivered": False}, "not_sent"),
    ],
)
def test_status(outcome, expected):
    assert status(outcome) == expected


def test_the_test_message_is_recognisable():
    text, message_id = build_message("a@example.test", "a@example.test", "0123abcd")
    assert message_id == "<mailops-roundtrip.0123abcd@example.test>"
    headers = text.split("\r\n\r\n", 1)[0].split("\r\n")
    assert "Auto-Submitted: auto-generated" in headers
    assert "Subject: mailops.clients round trip 0123abcd" in headers
    assert f"Message-ID: {message_id}" in headers


@pytest.mark.parametrize(
    ("username", "to_address", "message"),
    [
        # the advice names the option that is wrong, not the mailbox's username
        (
            "bob@example.test",
            "bob",
            "to_address must be a mail address (user@example.com), got 'bob'; it is the address the test message "
            "is sent to, delivered to the mailbox that is read",
        ),
        ("bob", None, "to_address is required when mailbox.username ('bob') is not a mail address"),
    ],
)
def test_the_recipient_must_be_a_mail_address(username, to_address, message):
    smtp = validate({"host": "127.0.0.1", "port": 9, "security": "none"}, "smtp")
    mailbox = validate({"host": "127.0.0.1", "port": 9, "username": username, "password": "x"}, "imap")
    with pytest.raises(OptionError, match=f"^{re.escape(message)}$"):
        RoundTrip(smtp, mailbox, "a@example.test", to_address=to_address)


def test_a_mailbox_user_that_is_not_an_address_is_fine_with_a_to_address():
    smtp = validate({"host": "127.0.0.1", "port": 9, "security": "none"}, "smtp")
    mailbox = validate({"host": "127.0.0.1", "port": 9, "username": "bob", "password": "x"}, "imap")
    assert RoundTrip(smtp, mailbox, "a@example.test", to_address="bob@example.test").to_address == "bob@example.test"
