# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory model: defaults, normalized form, and every semantic error with its exact message."""

from __future__ import annotations

import copy
import re

import pytest
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import endpoint_key
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import (
    InventoryError,
    InventoryErrors,
    dns_name,
    endpoints,
    is_absent,
    normalize_accounts,
    normalize_fleet,
    present,
)

SERVERS = {
    "example": {
        "incoming": {"protocol": "imap", "host": "mail.example.test"},
        "outgoing": {"host": "mail.example.test"},
    },
    "legacy": {
        "incoming": {"protocol": "pop3", "host": "pop.example.test", "security": "starttls"},
        "outgoing": {"host": "smtp.example.test", "security": "starttls", "auth": "password-encrypted"},
        "timeout": 60,
    },
    "plain": {
        "incoming": {"protocol": "imap", "host": "10.0.0.1", "security": "none"},
        "outgoing": {"host": "10.0.0.1", "security": "none", "auth": "none"},
        "allow_insecure": True,
    },
}


def test_minimal_account_gets_every_default():
    [account] = normalize_accounts([{"email": "Alice@Example.TEST", "server": "example"}], SERVERS, "c1")
    assert account == {
        "id": "Alice@example.test",
        "email": "Alice@example.test",
        "domain": "example.test",
        "local_part": "Alice",
        "display_name": "Alice@example.test",
        "user": None,
        "server": "example",
        "incoming": {
            "protocol": "imap",
            "host": "mail.example.test",
            "port": 993,
            "security": "tls",
            "auth": "password",
            "username": "Alice@example.test",
        },
        "outgoing": {
            "protocol": "smtp",
            "host": "mail.example.test",
            "port": 465,
            "security": "tls",
            "auth": "password",
            "username": "Alice@example.test",
        },
        "password": None,
        "oauth2": None,
        "pop3": None,
        "check_interval_minutes": None,
        "timeout": None,
        "allow_insecure": False,
        "roundtrip": None,
        "signature": None,
        "reply_to": None,
        "state": "present",
        "previous_email": None,
    }


@pytest.mark.parametrize(
    ("protocol", "security", "port"),
    [
        ("imap", "tls", 993),
        ("imap", "starttls", 143),
        ("imap", "none", 143),
        ("pop3", "tls", 995),
        ("pop3", "starttls", 110),
        ("pop3", "none", 110),
        ("smtp", "tls", 465),
        ("smtp", "starttls", 587),
        ("smtp", "none", 25),
    ],
)
def test_default_ports(protocol, security, port):
    side = {"host": "h.example.test", "security": security, "auth": "none"}
    incoming = dict(side, protocol=protocol) if protocol != "smtp" else dict(side, protocol="imap", security="tls")
    outgoing = side if protocol == "smtp" else {"host": "h.example.test"}
    [account] = normalize_accounts([{"email": "a@example.test", "incoming": incoming, "outgoing": outgoing}], {})
    got = account["outgoing"]["port"] if protocol == "smtp" else account["incoming"]["port"]
    assert got == port


def test_full_account_keeps_everything():
    raw = {
        "email": "bob@example.test",
        "server": "legacy",
        "display_name": 'Bob Ünïcode "B"',
        "username": "bob",
        "user": "bob",
        "password": "s3cret",
        "pop3": {"leave_on_server": True, "delete_after_days": "14"},
        "check_interval_minutes": 10,
        "signature": "-- \nBob",
        "reply_to": "replies@example.test",
    }
    [account] = normalize_accounts([raw], SERVERS, "c1")
    assert account["incoming"] == {
        "protocol": "pop3",
        "host": "pop.example.test",
        "port": 110,
        "security": "starttls",
        "auth": "password",
        "username": "bob",
    }
    assert account["outgoing"] == {
        "protocol": "smtp",
        "host": "smtp.example.test",
        "port": 587,
        "security": "starttls",
        "auth": "password-encrypted",
        "username": "bob",
    }
    assert account["pop3"] == {"leave_on_server": True, "delete_after_days": 14}
    assert (account["display_name"], account["user"], account["password"], account["timeout"]) == (
        'Bob Ünïcode "B"',
        "bob",
        "s3cret",
        60,
    )
    assert (account["check_interval_minutes"], account["signature"], account["reply_to"]) == (
        10,
        "-- \nBob",
        "replies@example.test",
    )


def test_pop3_defaults_and_oauth2():
    servers = {
        "o": {
            "incoming": {"protocol": "pop3", "host": "p.example.test", "auth": "oauth2"},
            "outgoing": {"host": "s.example.test", "auth": "oauth2"},
        }
    }
    [account] = normalize_accounts(
        [{"email": "o@example.test", "server": "o", "oauth2": {"issuer": "login.example.test", "scope": "mail"}}],
        servers,
    )
    assert account["pop3"] == {"leave_on_server": False, "delete_after_days": None}
    assert account["oauth2"] == {"issuer": "login.example.test", "scope": "mail"}


def test_insecure_server_allowed_explicitly():
    [account] = normalize_accounts([{"email": "p@example.test", "server": "plain"}], SERVERS)
    assert (account["incoming"]["port"], account["outgoing"]["port"]) == (143, 25)
    assert account["allow_insecure"] is True


def test_an_endpoint_is_opted_in_only_when_every_account_using_it_is():
    inline = {
        "incoming": {"protocol": "imap", "host": "10.0.0.1", "security": "none", "auth": "none"},
        "outgoing": {"host": "10.0.0.1", "security": "none", "auth": "none"},
    }
    both = {"h1": normalize_accounts([{"email": "p@example.test", "server": "plain"}], SERVERS)}
    assert [e["allow_insecure"] for e in endpoints(both)] == [True, True]
    both["h2"] = normalize_accounts([{"email": "q@example.test", **inline}], SERVERS)
    assert [e["allow_insecure"] for e in endpoints(both)] == [False, False]


def test_same_email_on_two_servers_gets_distinct_ids():
    accounts = normalize_accounts(
        [
            {"email": "a@example.test", "server": "example"},
            {"email": "a@example.test", "server": "legacy"},
            {
                "email": "a@example.test",
                "incoming": {"protocol": "imap", "host": "other.example.test"},
                "outgoing": {"host": "other.example.test"},
            },
        ],
        SERVERS,
        "c1",
    )
    assert [a["id"] for a in accounts] == [
        "a@example.test#example",
        "a@example.test#legacy",
        "a@example.test#imap://other.example.test:993/tls",
    ]


def test_same_imap_login_for_two_os_users_is_fine():
    accounts = normalize_accounts(
        [
            {"email": "a@example.test", "server": "example", "user": "u1"},
            {"email": "a@example.test", "server": "example", "user": "u2"},
        ],
        SERVERS,
        "c1",
    )
    assert [(a["id"], a["user"]) for a in accounts] == [
        ("a@example.test#example#u1", "u1"),
        ("a@example.test#example#u2", "u2"),
    ]


def test_an_absent_account_needs_only_its_email_and_keeps_no_password():
    [gone, kept] = normalize_accounts(
        [
            {"email": "Old@Example.TEST", "state": "absent", "user": "olga", "password": "s3cret"},
            {"email": "new@example.test", "server": "example", "previous_email": "Old@Example.TEST"},
        ],
        SERVERS,
        "c1",
    )
    assert gone == {
        "id": "Old@example.test",
        "email": "Old@example.test",
        "domain": "example.test",
        "local_part": "Old",
        "display_name": "Old@example.test",
        "user": "olga",
        "server": None,
        "incoming": None,
        "outgoing": None,
        "password": None,
        "oauth2": None,
        "pop3": None,
        "check_interval_minutes": None,
        "timeout": None,
        "allow_insecure": False,
        "roundtrip": False,
        "signature": None,
        "reply_to": None,
        "state": "absent",
        "previous_email": None,
    }
    assert (kept["state"], kept["previous_email"]) == ("present", "Old@example.test")
    assert [is_absent(a) for a in (gone, kept)] == [True, False]
    assert present([gone, kept]) == [kept]


def test_an_absent_account_on_a_decommissioned_server_is_not_blocked():
    accounts = normalize_accounts(
        [
            {"email": "a@example.test", "server": "gone", "state": "absent", "display_name": ["not", "checked"]},
            {"email": "b@example.test", "server": "example", "state": "absent", "password": "x"},
            {"email": "c@example.test", "server": "example"},
        ],
        SERVERS,
        "c1",
    )
    assert [(a["id"], a["server"], a["incoming"] is None) for a in accounts] == [
        ("a@example.test", "gone", True),
        ("b@example.test", "example", False),
        ("c@example.test", "example", False),
    ]
    # the settings that still resolve are kept (a renderer may look for what it wrote), the password never
    assert accounts[1]["incoming"]["host"] == "mail.example.test"
    assert accounts[1]["password"] is None
    # an absent account uses no endpoint: nothing of it is probed
    assert [ep["accounts"] for ep in endpoints({"c1": accounts})] == [
        [{"host": "c1", "id": "c@example.test", "direction": "incoming"}],
        [{"host": "c1", "id": "c@example.test", "direction": "outgoing"}],
    ]


def test_an_absent_account_gets_the_id_it_would_have_when_present():
    accounts = normalize_accounts(
        [
            {"email": "a@example.test", "server": "example"},
            {"email": "a@example.test", "server": "legacy", "state": "absent"},
        ],
        SERVERS,
        "c1",
    )
    assert [(a["id"], a["state"]) for a in accounts] == [
        ("a@example.test#example", "present"),
        ("a@example.test#legacy", "absent"),
    ]


LIFECYCLE_ERRORS = [
    pytest.param(
        [{"email": "a@example.test", "server": "example", "state": "gone"}],
        "host c1, account a@example.test (mailops_accounts[0]), field state: unknown state 'gone'. Fix: use one "
        "of: present, absent.",
        id="unknown-state",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "example", "stat": "absent"}],
        "host c1, account a@example.test (mailops_accounts[0]), field stat: unknown key 'stat' (did you mean "
        "state?). Fix: rename it to state, or remove it (known keys: email, server, incoming, outgoing, "
        "allow_insecure, timeout, display_name, username, user, password, oauth2, pop3, check_interval_minutes, "
        "signature, reply_to, roundtrip, state, previous_email).",
        id="state-typo",
    ),
    pytest.param(
        [{"state": "absent", "user": "bob"}],
        "host c1, account mailops_accounts[0], field email: missing email. Fix: set email to the account's address.",
        id="absent-without-email",
    ),
    pytest.param(
        [{"email": "a@example.test", "state": "absent", "user": ["bob"]}],
        "host c1, account a@example.test (mailops_accounts[0]), field user: expected a string, got ['bob'] (a list). "
        "Fix: set user to a string (quote it in YAML).",
        id="absent-user-not-a-string",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "example", "previous_email": "a.example.test"}],
        "host c1, account a@example.test (mailops_accounts[0]), field previous_email: invalid email address "
        "'a.example.test'. Fix: write a full address like alice@example.com (no spaces, no display name); "
        "previous_email is the address the account had before.",
        id="previous-email-invalid",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "example", "previous_email": "a@EXAMPLE.test"}],
        "host c1, account a@example.test (mailops_accounts[0]), field previous_email: previous_email "
        "'a@example.test' is the account's own email. Fix: set previous_email to the address the account had "
        "before a rename, or remove it.",
        id="previous-email-is-email",
    ),
    pytest.param(
        [
            {"email": "a@example.test", "server": "example"},
            {"email": "b@example.test", "server": "example", "previous_email": "a@example.test"},
        ],
        "host c1, account b@example.test (mailops_accounts[1]), field previous_email: previous_email "
        "a@example.test is the email of mailops_accounts[0], which is present. Fix: remove previous_email (the "
        "address is still in use), or set state: absent on mailops_accounts[0] when it is the same mailbox.",
        id="previous-email-still-present",
    ),
    pytest.param(
        [
            {"email": "a@example.test", "server": "example", "state": "absent"},
            {"email": "a@example.test", "server": "example"},
        ],
        "host c1, account a@example.test (mailops_accounts[1]), field state: account a@example.test#example is "
        "both present (mailops_accounts[1]) and absent (mailops_accounts[0]). Fix: remove one of the two entries "
        "(keep state: absent only to remove an account that is gone).",
        id="present-and-absent",
    ),
    pytest.param(
        [
            {"email": "a@example.test", "server": "example"},
            {"email": "a@example.test", "state": "absent"},
        ],
        "host c1, account a@example.test (mailops_accounts[1]), field server: a@example.test is listed more than "
        "once and this absent entry does not say which account to remove. Fix: add the server the account to "
        "remove was on (server: <name>; it need not be in mailops_servers any more).",
        id="absent-duplicate-without-server",
    ),
]


@pytest.mark.parametrize(("accounts", "message"), LIFECYCLE_ERRORS)
def test_lifecycle_errors(accounts, message):
    with pytest.raises(InventoryError, match=f"^{re.escape(message)}$"):
        normalize_accounts(accounts, SERVERS, "c1")


def _inline(**incoming):
    return {
        "incoming": {"protocol": "imap", "host": "mail.example.test", **incoming},
        "outgoing": {"host": "mail.example.test"},
    }


ERRORS = [
    pytest.param(
        [{"email": "a@example.test", "server": "exmaple"}],
        "host c1, account a@example.test (mailops_accounts[0]), field server: unknown server 'exmaple'; "
        "known servers: example, insecure, legacy, plain. Fix: set server to one of the known names or define it "
        "in mailops_servers.",
        id="unknown-server",
    ),
    pytest.param(
        [{"email": "a@example.test", **_inline(port=70000)}],
        "host c1, account a@example.test (mailops_accounts[0]), field incoming.port: port 70000 is out of "
        "range 1-65535. Fix: set incoming.port to an integer from 1 to 65535.",
        id="port-out-of-range",
    ),
    pytest.param(
        [{"email": "a@example.test", **_inline(port=0)}],
        "host c1, account a@example.test (mailops_accounts[0]), field incoming.port: port 0 is out of "
        "range 1-65535. Fix: set incoming.port to an integer from 1 to 65535.",
        id="port-zero",
    ),
    pytest.param(
        [{"email": "a@example.test", **_inline(port="imaps")}],
        "host c1, account a@example.test (mailops_accounts[0]), field incoming.port: port must be an "
        "integer, got 'imaps'. Fix: set incoming.port to an integer from 1 to 65535.",
        id="port-not-int",
    ),
    pytest.param(
        [{"email": "a@example.test", **_inline(port=True)}],
        "host c1, account a@example.test (mailops_accounts[0]), field incoming.port: port must be an "
        "integer, got True. Fix: set incoming.port to an integer from 1 to 65535.",
        id="port-bool",
    ),
    pytest.param(
        [{"email": "a@example.test", **_inline(security="none")}],
        "host c1, account a@example.test (mailops_accounts[0]), field incoming.security: security none "
        "with auth password sends the credentials unencrypted to mail.example.test:143. Fix: use security "
        "tls or starttls, or set allow_insecure: true on the server (or the account, for inline "
        "settings) if you accept that risk.",
        id="insecure-inline",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "insecure"}],
        "host c1, account a@example.test (mailops_accounts[0]), field mailops_servers.insecure.outgoing."
        "security: security none with auth password-encrypted sends the credentials unencrypted to "
        "mail.example.test:25. Fix: use security tls or starttls, or set allow_insecure: true on the "
        "server (or the account, for inline settings) if you accept that risk.",
        id="insecure-server",
    ),
    pytest.param(
        [{"email": "alice example.test", "server": "example"}],
        "host c1, account alice example.test (mailops_accounts[0]), field email: invalid email address "
        "'alice example.test'. Fix: write a full address like alice@example.com (no spaces, no display "
        "name).",
        id="email-no-at",
    ),
    pytest.param(
        [{"email": "Alice <a@example.test>", "server": "example"}],
        "host c1, account Alice <a@example.test> (mailops_accounts[0]), field email: invalid email address "
        "'Alice <a@example.test>'. Fix: write a full address like alice@example.com (no spaces, no "
        "display name).",
        id="email-display-name",
    ),
    pytest.param(
        [{"email": "a@localhost", "server": "example"}],
        "host c1, account a@localhost (mailops_accounts[0]), field email: invalid email address "
        "'a@localhost'. Fix: write a full address like alice@example.com (no spaces, no display name).",
        id="email-no-dot",
    ),
    pytest.param(
        [{"server": "example"}],
        "host c1, account mailops_accounts[0], field email: missing email. Fix: set email to the account's address.",
        id="email-missing",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "example"}, {"email": "A@EXAMPLE.test", "server": "example"}],
        "host c1, account A@EXAMPLE.test (mailops_accounts[1]), field email: duplicate account: same email "
        "and incoming server as mailops_accounts[0]. Fix: remove one of mailops_accounts[0] and "
        "mailops_accounts[1].",
        id="duplicate",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "example"}, {"email": "a@example.test", **_inline(security="starttls")}],
        "host c1, account a@example.test (mailops_accounts[1]), field incoming.port: IMAP login "
        "a@example.test on mail.example.test is already defined by mailops_accounts[0] with port 993/tls "
        "(this one: 143/starttls); Thunderbird identifies IMAP servers by user and host and cannot hold "
        "both. Fix: keep one of the two accounts, or give them different usernames or host names.",
        id="thunderbird-user-at-host",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "example", "displayname": "A"}],
        "host c1, account a@example.test (mailops_accounts[0]), field displayname: unknown key "
        "'displayname' (did you mean display_name?). Fix: rename it to display_name, or remove it (known keys: "
        "email, server, incoming, outgoing, allow_insecure, timeout, display_name, username, user, password, "
        "oauth2, pop3, check_interval_minutes, signature, reply_to, roundtrip, state, previous_email).",
        id="unknown-key-near-miss",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "example", "colour": "blue"}],
        "host c1, account a@example.test (mailops_accounts[0]), field colour: unknown key 'colour'. Fix: remove "
        "it or use one of: email, server, incoming, outgoing, allow_insecure, timeout, display_name, username, "
        "user, password, oauth2, pop3, check_interval_minutes, signature, reply_to, roundtrip, state, previous_email.",
        id="unknown-key",
    ),
    pytest.param(
        [{"email": "a@example.test", "incoming": {"protocol": "imap", "hots": "h"}, "outgoing": {"host": "h"}}],
        "host c1, account a@example.test (mailops_accounts[0]), field incoming.hots: unknown key 'hots' (did you "
        "mean host?). Fix: rename it to host, or remove it (known keys: protocol, host, port, security, auth).",
        id="unknown-nested-key-near-miss",
    ),
    pytest.param(
        [{"email": "a@example.test", **_inline(protocol="imaps")}],
        "host c1, account a@example.test (mailops_accounts[0]), field incoming.protocol: unknown incoming "
        "protocol 'imaps'. Fix: use one of: imap, pop3.",
        id="unknown-protocol",
    ),
    pytest.param(
        [{"email": "a@example.test", **_inline(security="ssl")}],
        "host c1, account a@example.test (mailops_accounts[0]), field incoming.security: unknown security "
        "'ssl'. Fix: use one of: tls, starttls, none.",
        id="unknown-security",
    ),
    pytest.param(
        [{"email": "a@example.test", **_inline(auth="plain")}],
        "host c1, account a@example.test (mailops_accounts[0]), field incoming.auth: unknown auth 'plain'. "
        "Fix: use one of: password, password-encrypted, oauth2, ntlm, gssapi, none.",
        id="unknown-auth",
    ),
    pytest.param(
        [{"email": "a@example.test"}],
        "host c1, account a@example.test (mailops_accounts[0]), field server: neither server nor inline "
        "incoming/outgoing settings given. Fix: set server to a name from mailops_servers, or give inline "
        "incoming and outgoing.",
        id="no-server",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "example", "incoming": {}}],
        "host c1, account a@example.test (mailops_accounts[0]), field incoming: both server and inline "
        "incoming settings given. Fix: use either server (a name from mailops_servers) or inline incoming "
        "and outgoing, not both.",
        id="server-and-inline",
    ),
    pytest.param(
        [{"email": "a@example.test", "incoming": {"protocol": "imap", "host": "h.example.test"}}],
        "host c1, account a@example.test (mailops_accounts[0]), field outgoing: inline settings need both "
        "incoming and outgoing, outgoing is missing. Fix: add outgoing or use server (a name from "
        "mailops_servers).",
        id="inline-half",
    ),
    pytest.param(
        [{"email": "a@example.test", **_inline(host="imaps://mail.example.test")}],
        "host c1, account a@example.test (mailops_accounts[0]), field incoming.host: invalid host name "
        "'imaps://mail.example.test'. Fix: use a DNS name (mail.example.com) or an IP address, without "
        "scheme or port.",
        id="host-with-scheme",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "example", "pop3": {"leave_on_server": True}}],
        "host c1, account a@example.test (mailops_accounts[0]), field pop3: POP3 options given but the "
        "incoming protocol is imap. Fix: remove pop3, or use a server with incoming protocol pop3.",
        id="pop3-options-on-imap",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "legacy", "pop3": {"delete_after_days": 7}}],
        "host c1, account a@example.test (mailops_accounts[0]), field pop3.delete_after_days: "
        "delete_after_days only applies when leave_on_server is true. Fix: set pop3.leave_on_server: true "
        "or remove delete_after_days.",
        id="pop3-delete-without-leave",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "example", "oauth2": {"issuer": "x"}}],
        "host c1, account a@example.test (mailops_accounts[0]), field oauth2.scope: missing scope. Fix: set "
        "oauth2.scope to a non-empty string.",
        id="oauth2-incomplete",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "example", "reply_to": "nobody"}],
        "host c1, account a@example.test (mailops_accounts[0]), field reply_to: invalid email address "
        "'nobody'. Fix: write a full address like replies@example.com, or remove reply_to.",
        id="reply-to",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "example", "password": 1234}],
        "host c1, account a@example.test (mailops_accounts[0]), field password: expected a string, got a "
        "value (a number). Fix: set password to a string (quote it in YAML).",
        id="password-not-str",
    ),
    pytest.param(
        [{"email": "a@example.test", "server": "example", "check_interval_minutes": 0}],
        "host c1, account a@example.test (mailops_accounts[0]), field check_interval_minutes: "
        "check_interval_minutes 0 is out of range 1-1440. Fix: set check_interval_minutes to an integer "
        "from 1 to 1440.",
        id="interval",
    ),
    pytest.param(
        ["a@example.test"],
        "host c1, account mailops_accounts[0]: expected a dictionary with at least email and server, got "
        "'a@example.test'. Fix: write each account as a dictionary, e.g. {email: alice@example.com, "
        "server: example}.",
        id="account-not-dict",
    ),
    pytest.param(
        {"email": "a@example.test"},
        "host c1, field mailops_accounts: mailops_accounts must be a list of accounts, got {'email': "
        "'a@example.test'}. Fix: write mailops_accounts as a YAML list: - {email: ..., server: ...}.",
        id="accounts-not-list",
    ),
]


@pytest.mark.parametrize(("accounts", "message"), ERRORS)
def test_errors(accounts, message):
    servers = dict(
        SERVERS,
        insecure={
            "incoming": {"protocol": "imap", "host": "mail.example.test"},
            "outgoing": {"host": "mail.example.test", "security": "none", "auth": "password-encrypted"},
        },
    )
    with pytest.raises(InventoryError, match=f"^{re.escape(message)}$"):
        normalize_accounts(accounts, servers, "c1")


def test_error_attributes_and_no_secret_in_message():
    with pytest.raises(InventoryError) as info:
        normalize_accounts([{"email": "a@example.test", "server": "nope", "password": "hunter2-secret"}], SERVERS, "c9")
    err = info.value
    assert (err.host, err.account, err.field) == ("c9", "a@example.test (mailops_accounts[0])", "server")
    assert "hunter2" not in str(err)


def test_unknown_server_with_no_servers_defined():
    with pytest.raises(
        InventoryError,
        match=r"^host c1, account a@example\.test \(mailops_accounts\[0\]\), field "
        r"server: unknown server 'x'; known servers: none \(mailops_servers is "
        r"empty or undefined\)\. Fix: .*$",
    ):
        normalize_accounts([{"email": "a@example.test", "server": "x"}], None, "c1")


def test_inputs_are_not_modified():
    accounts = [{"email": "a@example.test", "server": "example"}]
    before = (copy.deepcopy(accounts), copy.deepcopy(SERVERS))
    normalize_accounts(accounts, SERVERS, "c1")
    assert (accounts, SERVERS) == before


def test_fleet_collects_errors_of_every_host():
    hosts = {
        "c1": ([{"email": "a@example.test", "server": "example"}], SERVERS),
        "c2": ([{"email": "b@example.test", "server": "nope"}], SERVERS),
        "c3": ([{"email": "bad", "server": "example"}], SERVERS),
    }
    with pytest.raises(InventoryErrors) as info:
        normalize_fleet(hosts)
    assert str(info.value).splitlines() == [
        "2 inventory errors:",
        "host c2, account b@example.test (mailops_accounts[0]), field server: unknown server 'nope'; known servers: "
        "example, legacy, plain. Fix: set server to one of the known names or define it in mailops_servers.",
        "host c3, account bad (mailops_accounts[0]), field email: invalid email address 'bad'. Fix: write a full "
        "address like alice@example.com (no spaces, no display name).",
    ]


def test_fleet_single_error_is_plain():
    with pytest.raises(InventoryError, match=r"^host c2, account .*unknown server 'nope'.*$") as info:
        normalize_fleet({"c1": ([], SERVERS), "c2": ([{"email": "b@example.test", "server": "nope"}], SERVERS)})
    assert not isinstance(info.value, InventoryErrors)


def test_fleet_defaults_hosts_without_accounts():
    assert normalize_fleet({"c1": (None, None)}) == {"c1": []}


def test_endpoints_unique_across_hosts_with_deduplicated_credentials():
    fleet = normalize_fleet(
        {
            "c1": ([{"email": "a@example.test", "server": "example", "password": "pa"}], SERVERS),
            "c2": (
                [
                    {"email": "a@example.test", "server": "example", "password": "pa"},
                    {"email": "b@example.test", "server": "legacy", "password": "pb"},
                    {"email": "c@example.test", "server": "example"},
                ],
                SERVERS,
            ),
        }
    )
    eps = endpoints(fleet, credentials=True)
    assert [e["key"] for e in eps] == [
        "imap://mail.example.test:993/tls",
        "pop3://pop.example.test:110/starttls",
        "smtp://mail.example.test:465/tls",
        "smtp://smtp.example.test:587/starttls",
    ]
    imap = eps[0]
    assert imap["accounts"] == [
        {"host": "c1", "id": "a@example.test", "direction": "incoming"},
        {"host": "c2", "id": "a@example.test", "direction": "incoming"},
        {"host": "c2", "id": "c@example.test", "direction": "incoming"},
    ]
    assert imap["credentials"] == [
        {
            "username": "a@example.test",
            "password": "pa",
            "auth_mechanism": "auto",
            "refs": [
                {"host": "c1", "id": "a@example.test", "direction": "incoming"},
                {"host": "c2", "id": "a@example.test", "direction": "incoming"},
            ],
        }
    ]
    assert eps[3]["credentials"][0]["auth_mechanism"] == "CRAM-MD5"
    assert all(e["credentials"] == [] for e in endpoints(fleet, credentials=False))


def test_an_internationalized_domain_is_accepted_and_its_hosts_are_probed_in_ascii():
    servers = {
        "idn": {
            "incoming": {"protocol": "imap", "host": "Mail.Exämple.test"},
            "outgoing": {"host": "mail.exämple.test"},
        }
    }
    [account] = normalize_accounts([{"email": "zoe@Exämple.test", "server": "idn"}], servers, "c1")
    assert (account["email"], account["domain"]) == ("zoe@exämple.test", "exämple.test")
    assert (account["incoming"]["host"], account["outgoing"]["host"]) == ("mail.xn--exmple-cua.test",) * 2
    assert endpoint_key(account["incoming"]) == "imap://mail.xn--exmple-cua.test:993/tls"


@pytest.mark.parametrize(
    ("email", "message"),
    [
        (
            "zoë@exämple.test",
            "host c1, account zoë@exämple.test (mailops_accounts[0]), field email: the local part 'zoë' of "
            "'zoë@exämple.test' is not ASCII: such an address needs SMTPUTF8 (RFC 6531) on every server and mail "
            "client on the way, which this collection cannot verify. Fix: use the mailbox's ASCII address (an "
            "alias), or leave this account out.",
        ),
        (
            "zoe@" + "ä" * 60 + ".test",
            "host c1, account zoe@"
            + "ä" * 60
            + ".test (mailops_accounts[0]), field email: the domain '"
            + "ä" * 60
            + ".test' of 'zoe@"
            + "ä" * 60
            + ".test' is not a valid internationalized domain name. Fix: "
            "check the spelling of the domain, or write it in its ASCII (xn--) form.",
        ),
    ],
)
def test_non_ascii_addresses_are_explained(email, message):
    with pytest.raises(InventoryError) as caught:
        normalize_accounts([{"email": email, "server": "example"}], SERVERS, "c1")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [("display_name", "Alice\nExample", "000A"), ("user", "alice\t", "0009"), ("username", "al\x00ice", "0000")],
)
def test_control_characters_are_refused_before_any_profile(field, value, code):
    with pytest.raises(InventoryError) as caught:
        normalize_accounts([{"email": "a@example.test", "server": "example", field: value}], SERVERS, "c1")
    assert str(caught.value) == (
        f"host c1, account a@example.test (mailops_accounts[0]), field {field}: {field} contains a control character "
        f"(U+{code}); mail client profiles cannot carry it. Fix: write {field} on one line, without tabs or other "
        "control characters."
    )


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("Mail.Example.TEST.", "mail.example.test"),
        (" exämple.test ", "xn--exmple-cua.test"),
        ("_imaps._tcp.example.test", "_imaps._tcp.example.test"),
        ("mail", "mail"),
        ("-x.example.test", None),
        ("a..test", None),
        ("m a.test", None),
        ("a" * 64 + ".test", None),
        (".".join(["a" * 63] * 4), None),
        (7, None),
    ],
)
def test_dns_name(value, name):
    assert dns_name(value) == name
