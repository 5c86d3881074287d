# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SMTP client dialogue (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954) over the bounded ``_wire.Wire``."""

from __future__ import annotations

import ipaddress
import re
import socket

from ansible_collections.mailops.clients.plugins.module_utils._dialogue import (
    MAX_AUTH_STEPS,
    Dialogue,
    decode_challenge,
    encode_response,
)
from ansible_collections.mailops.clients.plugins.module_utils._errors import ProtocolError, TLSFailure

_REPLY = re.compile(r"^(\d{3})([ -])(.*)$")
_BARE_CODE = re.compile(r"^(\d{3})()()$")
# Message submission ports: 587 (RFC 6409) and 465 (implicit TLS, RFC 8314); port 25 is relay (an MX).
SUBMISSION_PORTS = (465, 587)


def auth_mechanisms(capabilities):
    """Mechanisms from the EHLO keywords ``AUTH PLAIN LOGIN`` (and the old ``AUTH=PLAIN LOGIN`` form)."""
    found = []
    for line in capabilities:
        upper = line.upper()
        if upper.startswith(("AUTH ", "AUTH=")):
            for name in upper[5:].split():
                if name not in found:
                    found.append(name)
    return found


def default_helo_name(sock=None):
    """A host name with a dot, else the address literal of our end of the connection (RFC 5321 4.1.3)."""
    name = socket.gethostname()
    if "." in name:
        return name
    if sock is not None:
        try:
            address = ipaddress.ip_address(sock.getsockname()[0])
            return f"[{address}]" if address.version == 4 else f"[IPv6:{address}]"
        except (OSError, ValueError):
            pass
    return "localhost.localdomain"


def _reply(code, texts):
    return f"{code} {' '.join(texts)}"


class Smtp(Dialogue):
    protocol = "smtp"
    starttls_command = "STARTTLS"
    anonymous_plaintext_usual = True  # MTA to MTA on port 25, where STARTTLS is opportunistic (RFC 3207)

    def __init__(self, helo_name=None):
        self.helo_name = helo_name  # None: default_helo_name() of the connection, when EHLO is sent

    @classmethod
    def for_settings(cls, settings):
        return cls(settings.helo_name)

    def read_reply(self, wire, first=None):
        """One (possibly multi-line) reply: (code, [text lines])."""
        code = None
        texts = []
        line = first if first is not None else wire.read_line()
        while True:
            match = _REPLY.match(line) or _BARE_CODE.match(line)
            if not match or (code is not None and match.group(1) != code):
                raise wire.error(ProtocolError, "garbage_response", protocol="SMTP", reply=wire.excerpt(line))
            code = match.group(1)
            texts.append(match.group(3))
            if match.group(2) != "-":
                return int(code), texts
            line = wire.read_line()

    def read_greeting(self, wire):
        line = wire.read_line()
        wire.check_greeting(line)
        code, texts = self.read_reply(wire, first=line)
        if code != 220:
            raise wire.error(ProtocolError, "service_unavailable", reply=wire.excerpt(_reply(code, texts)))

    def simple(self, wire, text, label=None):
        wire.send_command(text, label or text.split(" ", 1)[0])
        return self.read_reply(wire)

    def capabilities(self, wire):
        helo_name = self.helo_name or default_helo_name(wire.sock)
        code, texts = self.simple(wire, f"EHLO {helo_name}", "EHLO")
        if code != 250:
            raise wire.error(
                ProtocolError,
                "command_rejected",
                command="EHLO",
                reply=wire.excerpt(_reply(code, texts)),
                protocol="SMTP",
            )
        return texts[1:]

    def starttls_offered(self, capabilities):
        return "STARTTLS" in (c.upper().split()[0] for c in capabilities if c.split())

    def starttls(self, wire):
        code, texts = self.simple(wire, "STARTTLS")
        if code != 220:
            raise wire.error(TLSFailure, "starttls_failed", command="STARTTLS", reply=wire.excerpt(_reply(code, texts)))

    def auth_mechanisms(self, capabilities):
        return auth_mechanisms(capabilities)

    def capability_findings(self, capabilities, settings):
        """No AUTH is normal for an MX (port 25, RFC 5321) and wrong for submission (RFC 6409, RFC 8314)."""
        if self.auth_mechanisms(capabilities):
            return []
        submission = settings.security == "tls" or settings.port in SUBMISSION_PORTS
        context = " (no AUTH in the EHLO reply: fine for an MX on port 25, wrong for submission)"
        return [("auth_not_offered", "warning" if submission else "info", {"context": context})]

    def authenticate(self, wire, mechanism, capabilities):
        initial = mechanism.initial_response()
        if initial is not None:
            encoded = encode_response(wire, initial) or "="  # "=": an empty initial response (RFC 4954)
            code, texts = self.simple(wire, f"AUTH {mechanism.name} {encoded}", "AUTH")
        else:
            code, texts = self.simple(wire, f"AUTH {mechanism.name}", "AUTH")
        for _unused in range(MAX_AUTH_STEPS):
            if code == 235:
                return True, _reply(code, texts)
            if code != 334:
                return False, _reply(code, texts)
            challenge = decode_challenge(texts[0])
            if challenge is None:
                code, texts = self.simple(wire, "*", "AUTH")  # cancel the exchange (RFC 4954 section 4)
                continue
            code, texts = self.simple(wire, encode_response(wire, mechanism.respond(challenge)), "AUTH")
        raise self.too_many_steps(wire, mechanism)

    def logout(self, wire):
        code, texts = self.simple(wire, "QUIT")
        if code != 221:
            raise wire.error(
                ProtocolError, "logout_failed", reason=wire.excerpt(f"QUIT answered {_reply(code, texts)}")
            )

    # --- the round trip's submission ------------------------------------------------------------
    def send_message(self, wire, sender, recipient, message):
        """MAIL/RCPT/DATA; returns the final reply text (queue id). Raises ProtocolError on refusal."""
        for command, text, accepted in (
            ("MAIL FROM", f"MAIL FROM:<{sender}>", (250,)),
            ("RCPT TO", f"RCPT TO:<{recipient}>", (250, 251)),
            ("DATA", "DATA", (354,)),
            ("end of DATA", None, (250,)),
        ):
            if text is None:  # the message, dot-stuffed (RFC 5321 section 4.5.2), then its end
                lines = message.replace("\r\n", "\n").split("\n")
                body = "".join(("." + line if line.startswith(".") else line) + "\r\n" for line in lines)
                wire.send_raw(body.encode("utf-8") + b".\r\n")
                code, texts = self.read_reply(wire)
            else:
                code, texts = self.simple(wire, text, command)
            if code not in accepted:
                raise wire.error(
                    ProtocolError, "message_rejected", command=command, reply=wire.excerpt(_reply(code, texts))
                )
        return " ".join(texts)
