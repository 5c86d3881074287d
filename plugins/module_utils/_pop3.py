# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""POP3 client dialogue (RFC 1939, CAPA/STLS RFC 2449/2595, AUTH RFC 5034) over the engine's Wire."""

from __future__ import annotations

import base64
import binascii

from ansible_collections.mailops.clients.plugins.module_utils._errors import AuthFailure, ProtocolError, TLSFailure

MAX_AUTH_STEPS = 6


def auth_mechanisms(capabilities):
    for line in capabilities:
        parts = line.split()
        if parts and parts[0].upper() == "SASL":
            return [p.upper() for p in parts[1:]]
    return []


def unfold(lines):
    """RFC 5322 header lines with folded continuations joined (stops at the blank line)."""
    headers = []
    for line in lines:
        if not line:
            break
        if line[0] in " \t" and headers:
            headers[-1] += " " + line.strip()
        else:
            headers.append(line)
    return headers


class Pop3:
    protocol = "pop3"
    display = "POP3"
    starttls_command = "STLS"

    def __init__(self):
        self.capa_supported = True

    def read_greeting(self, wire):
        line = wire.read_line()
        wire.check_greeting(line, "pop3")
        if line.startswith("-ERR"):
            raise wire.error(ProtocolError, "service_unavailable", reply=wire.excerpt(line))

    def simple(self, wire, text, label=None, secret=False):
        """Send one command; returns (ok, status line text)."""
        wire.send_command(text, label or text.split(" ", 1)[0], secret=secret)
        line = wire.read_line()
        if line.startswith("+OK"):
            return True, line
        if line.startswith("-ERR"):
            return False, line
        raise wire.error(ProtocolError, "garbage_response", protocol="POP3", reply=wire.excerpt(line))

    def multiline(self, wire):
        """The body of a multi-line reply, dot-unstuffed, up to the terminating '.'."""
        lines = []
        while True:
            line = wire.read_line()
            if line == ".":
                return lines
            lines.append(line[1:] if line.startswith("..") else line)

    def capabilities(self, wire):
        ok, _unused = self.simple(wire, "CAPA")
        if not ok:  # CAPA is optional (RFC 2449): an old server simply has no capability list
            self.capa_supported = False
            return []
        self.capa_supported = True
        return self.multiline(wire)

    def starttls_offered(self, capabilities):
        return "STLS" in (c.split()[0].upper() for c in capabilities if c.split())

    def starttls(self, wire):
        ok, line = self.simple(wire, "STLS")
        if not ok:
            raise wire.error(TLSFailure, "starttls_failed", command="STLS", reply=wire.excerpt(line))

    auth_mechanisms = staticmethod(auth_mechanisms)

    def password_commands(self, capabilities):
        """USER/PASS when CAPA lists USER, or when the server has no CAPA (RFC 1939 baseline)."""
        if not self.capa_supported or "USER" in (c.split()[0].upper() for c in capabilities if c.split()):
            return ["POP3-USER"]
        return []

    def authenticate(self, wire, mechanism, capabilities):
        initial = mechanism.initial_response()
        if initial is not None:
            encoded = wire.remember_secret(base64.b64encode(initial).decode("ascii")) or "="
            wire.send_command(f"AUTH {mechanism.name} {encoded}", "AUTH", secret=True)
        else:
            wire.send_command(f"AUTH {mechanism.name}", "AUTH")
        for _unused in range(MAX_AUTH_STEPS):
            line = wire.read_line()
            if line.startswith("+OK"):
                return True, line
            if line.startswith("-ERR"):
                return False, line
            if not line.startswith("+"):
                raise wire.error(ProtocolError, "garbage_response", protocol="POP3", reply=wire.excerpt(line))
            try:
                challenge = base64.b64decode(line[1:].strip(), validate=True)
            except (binascii.Error, ValueError):
                wire.send_command("*", "AUTH")
                continue
            response = mechanism.respond(challenge)
            wire.send_command(wire.remember_secret(base64.b64encode(response).decode("ascii")), "AUTH", secret=True)
        raise wire.error(
            AuthFailure,
            "auth_failed",
            username=mechanism.username,
            mechanism=mechanism.name,
            reply="too many authentication round trips",
        )

    def login(self, wire, username, password):
        ok, line = self.simple(wire, f"USER {username}", "USER")
        if not ok:
            return False, line
        wire.remember_secret(password)
        return self.simple(wire, f"PASS {password}", "PASS", secret=True)

    def logout(self, wire):
        ok, line = self.simple(wire, "QUIT")
        if not ok:
            raise wire.error(ProtocolError, "logout_failed", reason=wire.excerpt(f"QUIT answered {line}"))

    # --- round trip helpers ---------------------------------------------------------------------
    def find_message(self, wire, message_id, max_messages=500):
        """Number of the message whose Message-ID header matches (newest first), or None."""
        ok, line = self.simple(wire, "STAT")
        if not ok:
            raise wire.error(
                ProtocolError, "command_rejected", command="STAT", reply=wire.excerpt(line), protocol="POP3"
            )
        count = int(line.split()[1]) if len(line.split()) > 1 and line.split()[1].isdigit() else 0
        wanted = message_id.lower()
        for number in range(count, max(0, count - max_messages), -1):
            ok, line = self.simple(wire, f"TOP {number} 0", "TOP")
            if not ok:
                continue
            for header in unfold(self.multiline(wire)):
                name, _unused, value = header.partition(":")
                if name.strip().lower() == "message-id" and value.strip().lower() == wanted:
                    return number
        return None

    def delete(self, wire, number):
        ok, line = self.simple(wire, f"DELE {number}", "DELE")
        if not ok:
            raise wire.error(
                ProtocolError, "command_rejected", command="DELE", reply=wire.excerpt(line), protocol="POP3"
            )
