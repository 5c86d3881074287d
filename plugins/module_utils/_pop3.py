# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""POP3 client dialogue (RFC 1939, CAPA/STLS RFC 2449/2595, AUTH RFC 5034) over the bounded ``_wire.Wire``."""

from __future__ import annotations

from ansible_collections.mailops.clients.plugins.module_utils._dialogue import (
    MAX_AUTH_STEPS,
    Dialogue,
    decode_challenge,
    encode_response,
)
from ansible_collections.mailops.clients.plugins.module_utils._errors import ProtocolError, TLSFailure


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


class Pop3(Dialogue):
    protocol = "pop3"
    starttls_command = "STLS"
    login_command = "POP3-USER"
    login_command_text = "USER/PASS"
    sees_new_mail = False  # the maildrop is fixed when the session begins (RFC 1939 section 8)

    def __init__(self):
        self.capa_supported = True

    def read_greeting(self, wire):
        line = wire.read_line()
        wire.check_greeting(line)
        if line.startswith("-ERR"):
            raise wire.error(ProtocolError, "service_unavailable", reply=wire.excerpt(line))

    def simple(self, wire, text, label=None):
        """Send one command; returns (ok, status line text)."""
        wire.send_command(text, label or text.split(" ", 1)[0])
        line = wire.read_line()
        if line.startswith("+OK"):
            return True, line
        if line.startswith("-ERR"):
            return False, line
        raise wire.error(ProtocolError, "garbage_response", protocol="POP3", reply=wire.excerpt(line))

    def _expect_ok(self, wire, text, label=None):
        ok, line = self.simple(wire, text, label)
        if not ok:
            raise wire.error(
                ProtocolError, "command_rejected", command=label or text, reply=wire.excerpt(line), protocol="POP3"
            )
        return line

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

    def auth_mechanisms(self, capabilities):
        return auth_mechanisms(capabilities)

    def login_command_offered(self, capabilities):
        """USER/PASS when CAPA lists USER, or when the server has no CAPA (RFC 1939 baseline)."""
        return not self.capa_supported or "USER" in (c.split()[0].upper() for c in capabilities if c.split())

    def authenticate(self, wire, mechanism, capabilities):
        initial = mechanism.initial_response()
        if initial is not None:
            encoded = encode_response(wire, initial) or "="  # "=": an empty initial response (RFC 5034)
            wire.send_command(f"AUTH {mechanism.name} {encoded}", "AUTH")
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
            challenge = decode_challenge(line[1:])
            if challenge is None:
                wire.send_command("*", "AUTH")  # cancel the exchange (RFC 5034 section 4)
                continue
            wire.send_command(encode_response(wire, mechanism.respond(challenge)), "AUTH")
        raise self.too_many_steps(wire, mechanism)

    def login(self, wire, username, password):
        ok, line = self.simple(wire, f"USER {username}", "USER")
        if not ok:
            return False, line
        wire.remember_secret(password)
        return self.simple(wire, f"PASS {password}", "PASS")

    def logout(self, wire):
        ok, line = self.simple(wire, "QUIT")
        if not ok:
            raise wire.error(ProtocolError, "logout_failed", reason=wire.excerpt(f"QUIT answered {line}"))

    # --- the round trip's mailbox ---------------------------------------------------------------
    def open_mailbox(self, wire):
        """Nothing to open: the session's maildrop is the mailbox."""

    def find_message(self, wire, message_id, max_messages=500):
        """Number of the message whose Message-ID header matches (newest first), or None."""
        line = self._expect_ok(wire, "STAT")
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

    def delete_message(self, wire, number):
        """DELE; the deletion happens at QUIT (RFC 1939 UPDATE state).  Returns None (nothing left undone)."""
        self._expect_ok(wire, f"DELE {number}", "DELE")
