# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SMTP client dialogue (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954) over the engine's Wire."""

from __future__ import annotations

import base64
import binascii
import re

from ansible_collections.mailops.clients.plugins.module_utils._errors import AuthFailure, ProtocolError, TLSFailure

_REPLY = re.compile(r"^(\d{3})([ -])(.*)$")
MAX_AUTH_STEPS = 6


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


class Smtp:
    protocol = "smtp"
    display = "SMTP"
    starttls_command = "STARTTLS"

    def __init__(self, helo_name):
        self.helo_name = helo_name

    def read_reply(self, wire, first=None):
        """One (possibly multi-line) reply: (code, [text lines])."""
        code = None
        texts = []
        line = first if first is not None else wire.read_line()
        while True:
            match = _REPLY.match(line) or (re.match(r"^(\d{3})()()$", line))
            if not match or (code is not None and match.group(1) != code):
                raise wire.error(ProtocolError, "garbage_response", protocol="SMTP", reply=wire.excerpt(line))
            code = match.group(1)
            texts.append(match.group(3))
            if match.group(2) != "-":
                return int(code), texts
            line = wire.read_line()

    def read_greeting(self, wire):
        line = wire.read_line()
        wire.check_greeting(line, "smtp")
        code, texts = self.read_reply(wire, first=line)
        if code != 220:
            raise wire.error(ProtocolError, "service_unavailable", reply=wire.excerpt(f"{code} {' '.join(texts)}"))

    def simple(self, wire, text, label=None, secret=False):
        wire.send_command(text, label or text.split(" ", 1)[0], secret=secret)
        return self.read_reply(wire)

    def capabilities(self, wire):
        code, texts = self.simple(wire, f"EHLO {self.helo_name}", "EHLO")
        if code != 250:
            raise wire.error(
                ProtocolError,
                "command_rejected",
                command="EHLO",
                reply=wire.excerpt(f"{code} {' '.join(texts)}"),
                protocol="SMTP",
            )
        return texts[1:]

    def starttls_offered(self, capabilities):
        return "STARTTLS" in (c.upper().split()[0] for c in capabilities if c.split())

    def starttls(self, wire):
        code, texts = self.simple(wire, "STARTTLS")
        if code != 220:
            raise wire.error(
                TLSFailure, "starttls_failed", command="STARTTLS", reply=wire.excerpt(f"{code} {' '.join(texts)}")
            )

    auth_mechanisms = staticmethod(auth_mechanisms)

    def password_commands(self, capabilities):
        return []

    def authenticate(self, wire, mechanism, capabilities):
        initial = mechanism.initial_response()
        if initial is not None:
            encoded = wire.remember_secret(base64.b64encode(initial).decode("ascii")) or "="
            code, texts = self.simple(wire, f"AUTH {mechanism.name} {encoded}", "AUTH", secret=True)
        else:
            code, texts = self.simple(wire, f"AUTH {mechanism.name}", "AUTH")
        for _unused in range(MAX_AUTH_STEPS):
            if code == 235:
                return True, f"{code} {' '.join(texts)}"
            if code != 334:
                return False, f"{code} {' '.join(texts)}"
            try:
                challenge = base64.b64decode(texts[0].strip(), validate=True)
            except (binascii.Error, ValueError):
                code, texts = self.simple(wire, "*", "AUTH")
                continue
            response = mechanism.respond(challenge)
            code, texts = self.simple(
                wire, wire.remember_secret(base64.b64encode(response).decode("ascii")), "AUTH", secret=True
            )
        raise wire.error(
            AuthFailure,
            "auth_failed",
            username=mechanism.username,
            mechanism=mechanism.name,
            reply="too many authentication round trips",
        )

    def login(self, wire, username, password):  # pragma: no cover - SMTP has no non-SASL login
        raise NotImplementedError

    def logout(self, wire):
        code, texts = self.simple(wire, "QUIT")
        if code != 221:
            raise wire.error(
                ProtocolError, "logout_failed", reason=wire.excerpt(f"QUIT answered {code} {' '.join(texts)}")
            )

    # --- round trip -----------------------------------------------------------------------------
    def send_message(self, wire, sender, recipient, message):
        """MAIL/RCPT/DATA; returns the final reply text (queue id). Raises ProtocolError on refusal."""
        for command, text, accepted in (
            ("MAIL FROM", f"MAIL FROM:<{sender}>", (250,)),
            ("RCPT TO", f"RCPT TO:<{recipient}>", (250, 251)),
            ("DATA", "DATA", (354,)),
        ):
            code, texts = self.simple(wire, text, command)
            if code not in accepted:
                raise wire.error(
                    ProtocolError, "message_rejected", command=command, reply=wire.excerpt(f"{code} {' '.join(texts)}")
                )
        lines = message.replace("\r\n", "\n").split("\n")
        body = "".join(("." + line if line.startswith(".") else line) + "\r\n" for line in lines)
        wire.send_raw(body.encode("utf-8") + b".\r\n")
        code, texts = self.read_reply(wire)
        if code != 250:
            raise wire.error(
                ProtocolError,
                "message_rejected",
                command="end of DATA",
                reply=wire.excerpt(f"{code} {' '.join(texts)}"),
            )
        return " ".join(texts)
