# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsing of greetings and capability replies (IMAP, POP3, SMTP)."""

from __future__ import annotations

import pytest
from ansible_collections.mailops.clients.plugins.module_utils import _imap, _pop3, _smtp
from ansible_collections.mailops.clients.plugins.module_utils._wire import (
    could_be_greeting,
    identify_greeting,
    wrong_protocol_advice,
)


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
    imap = _imap.Imap()
    assert _imap.auth_mechanisms(caps) == imap.auth_mechanisms(caps) == ["PLAIN", "XOAUTH2"]
    assert _imap.login_disabled(caps) is True
    assert (imap.login_command_offered(caps), imap.login_refused(caps)) == (False, "LOGINDISABLED")
    assert (imap.login_command_offered(["IMAP4rev1"]), imap.login_refused(["IMAP4rev1"])) == (True, None)
    assert imap.starttls_offered(["starttls"]) is True


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
    assert _pop3.auth_mechanisms(caps) == pop3.auth_mechanisms(caps) == ["PLAIN", "LOGIN", "OAUTHBEARER"]
    assert pop3.starttls_offered(caps) is True
    assert pop3.login_command_offered(caps) is True
    assert pop3.login_command_offered(["TOP", "SASL"]) is False
    assert _pop3.auth_mechanisms(["TOP"]) == []
    pop3.capa_supported = False  # RFC 1939 servers without CAPA always have USER/PASS
    assert pop3.login_command_offered([]) is True
    assert pop3.login_refused(caps) is None


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
    assert could_be_greeting(partial) is could


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
    assert wrong_protocol_advice(actual, over_tls) == advice


@pytest.mark.parametrize(
    ("dialogue", "caps", "ways"),
    [
        (_imap.Imap(), ["IMAP4rev1", "AUTH=PLAIN", "AUTH=CRAM-MD5"], ["PLAIN", "the LOGIN command"]),
        (_imap.Imap(), ["IMAP4rev1", "LOGINDISABLED", "AUTH=CRAM-MD5"], []),
        (_pop3.Pop3(), ["USER", "SASL LOGIN XOAUTH2"], ["LOGIN", "XOAUTH2", "USER/PASS"]),
        (_pop3.Pop3(), ["SASL CRAM-MD5"], []),
        (_smtp.Smtp("client.example.test"), ["AUTH PLAIN LOGIN", "STARTTLS"], ["PLAIN", "LOGIN"]),
        (_smtp.Smtp("client.example.test"), ["PIPELINING"], []),
    ],
)
def test_password_ways_name_what_sends_a_readable_password(dialogue, caps, ways):
    assert dialogue.password_ways(caps) == ways


def _settings(protocol, security, port):
    from ansible_collections.mailops.clients.plugins.module_utils._connection import validate

    return validate({"host": "mail.example.test", "security": security, "port": port}, protocol)


_NO_AUTH = " (no AUTH in the EHLO reply: fine for an MX on port 25, wrong for submission)"


@pytest.mark.parametrize(
    ("dialogue", "caps", "security", "port", "findings"),
    [
        (_imap.Imap(), ["IMAP4rev1", "LOGINDISABLED", "STARTTLS"], "none", 143,
         [("login_disabled", "info", {"evidence": "LOGINDISABLED, and no AUTH=PLAIN or AUTH=LOGIN before STARTTLS"})]),
        (_imap.Imap(), ["IMAP4rev1", "LOGINDISABLED"], "tls", 993,
         [("login_disabled", None, {"evidence": "LOGINDISABLED, and no AUTH=PLAIN or AUTH=LOGIN before STARTTLS"})]),
        (_imap.Imap(), ["IMAP4rev1", "LOGINDISABLED", "AUTH=PLAIN"], "tls", 993, []),
        (_imap.Imap(), ["IMAP4rev1"], "tls", 993, []),
        (_pop3.Pop3(), [], "tls", 995, []),
        (_smtp.Smtp("c.example.test"), ["PIPELINING"], "none", 25,
         [("auth_not_offered", "info", {"context": _NO_AUTH})]),
        (_smtp.Smtp("c.example.test"), ["PIPELINING"], "starttls", 587,
         [("auth_not_offered", "warning", {"context": _NO_AUTH})]),
        (_smtp.Smtp("c.example.test"), ["PIPELINING"], "tls", 2465,
         [("auth_not_offered", "warning", {"context": _NO_AUTH})]),
        (_smtp.Smtp("c.example.test"), ["AUTH PLAIN"], "starttls", 587, []),
    ],
)  # fmt: skip
def test_capability_findings_are_each_protocols_own(dialogue, caps, security, port, findings):
    assert dialogue.capability_findings(caps, _settings(dialogue.protocol, security, port)) == findings
