# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsing of greetings and capability replies (IMAP, POP3, SMTP)."""

from __future__ import annotations

import pytest
from ansible_collections.mailops.clients.plugins.module_utils import _imap, _pop3, _smtp
from ansible_collections.mailops.clients.plugins.module_utils._probe import identify_greeting


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.", "IMAP"),
        ("* PREAUTH welcome", "IMAP"),
        ("* BYE too many connections", "IMAP"),
        ("+OK Dovecot (Debian) ready.", "POP3"),
        ("-ERR go away", "POP3"),
        ("220 mail.example.test ESMTP Postfix", "SMTP"),
        ("220-mail.example.test ESMTP", "SMTP"),
        ("554 5.7.1 no service", "SMTP"),
        ("220 ProFTPD Server ready", "FTP"),
        ("SSH-2.0-OpenSSH_9.2", "SSH"),
        ("HTTP/1.1 400 Bad Request", "HTTP"),
        ("hello there", None),
        ("", None),
        ("2200 not smtp", None),
    ],
)
def test_identify_greeting(line, kind):
    assert identify_greeting(line) == kind


@pytest.mark.parametrize(
    ("line", "caps"),
    [
        ("* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS AUTH=PLAIN] Dovecot ready.",
         ["IMAP4rev1", "SASL-IR", "STARTTLS", "AUTH=PLAIN"]),
        ("* CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=CRAM-MD5", ["IMAP4rev1", "LOGINDISABLED", "AUTH=CRAM-MD5"]),
        ("* capability IMAP4rev1", ["IMAP4rev1"]),
        ("* OK Dovecot ready.", None),
        ("* 3 EXISTS", None),
    ],
)  # fmt: skip
def test_imap_parse_capabilities(line, caps):
    assert _imap.parse_capabilities(line) == caps


def test_imap_auth_mechanisms_and_logindisabled():
    caps = ["IMAP4rev1", "AUTH=PLAIN", "auth=xoauth2", "LOGINDISABLED"]
    assert _imap.auth_mechanisms(caps) == ["PLAIN", "XOAUTH2"]
    assert _imap.login_disabled(caps) is True
    assert _imap.Imap().password_commands(caps) == []
    assert _imap.Imap().password_commands(["IMAP4rev1"]) == ["IMAP-LOGIN"]
    assert _imap.Imap().starttls_offered(["starttls"]) is True


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("alice@example.test", '"alice@example.test"'),
        ('pa"ss\\word', '"pa\\"ss\\\\word"'),
        ("", '""'),
        ("pässword", None),  # needs a literal
        ("tab\tsep", None),
    ],
)
def test_imap_quote(value, quoted):
    assert _imap.quote(value) == quoted


def test_pop3_capabilities():
    caps = ["TOP", "UIDL", "RESP-CODES", "STLS", "USER", "SASL PLAIN LOGIN oauthbearer"]
    pop3 = _pop3.Pop3()
    assert _pop3.auth_mechanisms(caps) == ["PLAIN", "LOGIN", "OAUTHBEARER"]
    assert pop3.starttls_offered(caps) is True
    assert pop3.password_commands(caps) == ["POP3-USER"]
    assert pop3.password_commands(["TOP", "SASL"]) == []
    assert _pop3.auth_mechanisms(["TOP"]) == []
    pop3.capa_supported = False  # RFC 1939 servers without CAPA always have USER/PASS
    assert pop3.password_commands([]) == ["POP3-USER"]


@pytest.mark.parametrize(
    ("caps", "mechanisms", "starttls"),
    [
        (["PIPELINING", "SIZE 10240000", "STARTTLS", "AUTH PLAIN LOGIN", "8BITMIME"], ["PLAIN", "LOGIN"], True),
        (["AUTH=PLAIN LOGIN", "AUTH PLAIN LOGIN CRAM-MD5"], ["PLAIN", "LOGIN", "CRAM-MD5"], False),
        (["auth xoauth2"], ["XOAUTH2"], False),
        (["PIPELINING", "AUTHX"], [], False),
        ([], [], False),
    ],
)
def test_smtp_ehlo_keywords(caps, mechanisms, starttls):
    assert _smtp.auth_mechanisms(caps) == mechanisms
    assert _smtp.Smtp("client.example.test").starttls_offered(caps) is starttls


@pytest.mark.parametrize(
    ("partial", "could"),
    [("*", True), ("* O", True), ("* OK slow", True), ("+O", True), ("22", True), ("220 mail", True),
     ("this line never ends", False), ("x", False), ("<html>", False)],
)  # fmt: skip
def test_could_be_greeting(partial, could):
    from ansible_collections.mailops.clients.plugins.module_utils._probe import _could_be_greeting

    assert _could_be_greeting(partial) is could


def test_pop3_unfold_headers():
    lines = ["Subject: a", "Message-ID:", " <id@example.test>", "X: 1", "\tcontinued", "", "body: not a header"]
    assert _pop3.unfold(lines) == ["Subject: a", "Message-ID: <id@example.test>", "X: 1 continued"]


@pytest.mark.parametrize(
    ("actual", "over_tls", "advice"),
    [
        ("POP3", False, "To check it as POP3, set protocol pop3 with security starttls "
                        "(mailops.clients.pop3_server_info; inventory: incoming.protocol pop3, incoming.security "
                        "starttls)."),
        ("IMAP", True, "To check it as IMAP, set protocol imap with security tls (mailops.clients.imap_server_info; "
                       "inventory: incoming.protocol imap, incoming.security tls)."),
        ("SMTP", False, "To check it as SMTP, use mailops.clients.smtp_server_info with security starttls (inventory: "
                        "the outgoing server, outgoing.security starttls)."),
        ("SMTP", True, "To check it as SMTP, use mailops.clients.smtp_server_info with security tls (inventory: the "
                       "outgoing server, outgoing.security tls)."),
        ("HTTP", True, "No mail client speaks HTTP: the port number is wrong."),
        ("FTP", False, "No mail client speaks FTP: the port number is wrong."),
    ],
)  # fmt: skip
def test_wrong_protocol_advice_names_what_to_set(actual, over_tls, advice):
    from ansible_collections.mailops.clients.plugins.module_utils._probe import wrong_protocol_advice

    assert wrong_protocol_advice(actual, over_tls) == advice
