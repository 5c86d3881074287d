# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""IMAP4rev1 client dialogue (RFC 3501/9051) over the bounded ``_wire.Wire``.

Only what validation and the round trip need: greeting, CAPABILITY, STARTTLS, AUTHENTICATE,
LOGIN, SELECT, NOOP, UID SEARCH, UID STORE, UID EXPUNGE, LOGOUT.  Each command's reply is read line
by line with the wire's per-line and per-reply limits and the stage deadline.
"""

from __future__ import annotations

import re

from ansible_collections.mailops.clients.plugins.module_utils._dialogue import (
    MAX_AUTH_STEPS,
    Dialogue,
    decode_challenge,
    encode_response,
)
from ansible_collections.mailops.clients.plugins.module_utils._errors import ProtocolError, TLSFailure

_CAPABILITY_CODE = re.compile(r"\[CAPABILITY ([^\]]*)\]", re.IGNORECASE)
_QUOTABLE = re.compile(r"^[\x20-\x7e]*$")


def parse_capabilities(line):
    """Capabilities from ``* CAPABILITY ...`` or a ``[CAPABILITY ...]`` response code, else None."""
    match = _CAPABILITY_CODE.search(line)
    if match:
        return match.group(1).split()
    parts = line.split()
    if len(parts) >= 2 and parts[0] == "*" and parts[1].upper() == "CAPABILITY":
        return parts[2:]
    return None


def auth_mechanisms(capabilities):
    return [c[5:].upper() for c in capabilities if c.upper().startswith("AUTH=")]


def login_disabled(capabilities):
    """LOGINDISABLED (RFC 3501 section 6.2.3): the LOGIN command is refused on this connection."""
    return "LOGINDISABLED" in (c.upper() for c in capabilities)


def quote(value):
    """An IMAP quoted string, or None when the value needs a literal (CR, LF, NUL, non-ASCII)."""
    if not _QUOTABLE.match(value):
        return None
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Imap(Dialogue):
    protocol = "imap"
    starttls_command = "STARTTLS"
    login_command = "IMAP-LOGIN"
    login_command_text = "the LOGIN command"

    def __init__(self):
        self._counter = 0
        self._mailbox_caps = []

    def _tag(self):
        self._counter += 1
        return f"M{self._counter}"

    # --- reading -------------------------------------------------------------------------------
    def read_greeting(self, wire):
        line = wire.read_line()
        wire.check_greeting(line)
        if line.upper().startswith("* BYE"):
            raise wire.error(ProtocolError, "service_unavailable", reply=wire.excerpt(line))
        return parse_capabilities(line)

    def _finish(self, wire, tag, untagged):
        while True:
            line = wire.read_line()
            if line.startswith(tag + " "):
                status, _unused, text = line[len(tag) + 1 :].partition(" ")
                return status.upper(), text
            untagged.append(line)

    def command(self, wire, text, label=None):
        """Send one command (no literals) and return (status, text, untagged lines)."""
        tag = self._tag()
        wire.send_command(f"{tag} {text}", label or text.split(" ", 1)[0])
        untagged = []
        status, reply = self._finish(wire, tag, untagged)
        return status, reply, untagged

    def _expect_ok(self, wire, text, label=None):
        status, reply, untagged = self.command(wire, text, label)
        if status != "OK":
            raise wire.error(
                ProtocolError,
                "command_rejected",
                command=label or text.split(" ", 1)[0],
                reply=wire.excerpt(f"{status} {reply}"),
                protocol="IMAP",
            )
        return reply, untagged

    def capabilities(self, wire):
        _unused, untagged = self._expect_ok(wire, "CAPABILITY")
        caps = []
        for line in untagged:
            parsed = parse_capabilities(line)
            if parsed is not None:
                caps.extend(parsed)
        return caps

    def starttls_offered(self, capabilities):
        return "STARTTLS" in (c.upper() for c in capabilities)

    def starttls(self, wire):
        status, reply, _unused = self.command(wire, "STARTTLS")
        if status != "OK":
            raise wire.error(TLSFailure, "starttls_failed", command="STARTTLS", reply=wire.excerpt(f"{status} {reply}"))

    def auth_mechanisms(self, capabilities):
        return auth_mechanisms(capabilities)

    def login_command_offered(self, capabilities):
        return not login_disabled(capabilities)

    def login_refused(self, capabilities):
        return "LOGINDISABLED" if login_disabled(capabilities) else None

    def capability_findings(self, capabilities, settings):
        if login_disabled(capabilities) and not self.password_ways(capabilities):
            evidence = "LOGINDISABLED, and no AUTH=PLAIN or AUTH=LOGIN before STARTTLS"
            return [("login_disabled", "info" if settings.security == "none" else None, {"evidence": evidence})]
        return []

    # --- authentication -------------------------------------------------------------------------
    def authenticate(self, wire, mechanism, capabilities):
        """SASL AUTHENTICATE; returns (succeeded, server text)."""
        tag = self._tag()
        initial = mechanism.initial_response()
        if initial is not None and "SASL-IR" in (c.upper() for c in capabilities):
            encoded = encode_response(wire, initial) or "="  # "=": an empty initial response (RFC 4959)
            wire.send_command(f"{tag} AUTHENTICATE {mechanism.name} {encoded}", "AUTHENTICATE")
            initial = None
        else:
            wire.send_command(f"{tag} AUTHENTICATE {mechanism.name}", "AUTHENTICATE")
        for _unused in range(MAX_AUTH_STEPS):
            line = wire.read_line()
            if line.startswith(tag + " "):
                status, _unused, text = line[len(tag) + 1 :].partition(" ")
                return status.upper() == "OK", f"{status} {text}"
            if not line.startswith("+"):
                continue  # untagged data (e.g. * CAPABILITY) before the tagged result
            challenge = decode_challenge(line[1:])
            if challenge is None:
                wire.send_command("*", "AUTHENTICATE")  # cancel the exchange (RFC 3501 section 6.2.2)
                continue
            if initial is not None:
                response, initial = initial, None
            else:
                response = mechanism.respond(challenge)
            wire.send_command(encode_response(wire, response), "AUTHENTICATE")
        raise self.too_many_steps(wire, mechanism)

    def login(self, wire, username, password):
        """The LOGIN command; quoted strings, or synchronizing literals for unusual characters."""
        tag = self._tag()
        parts = []
        for value in (username, password):
            quoted = quote(value)
            parts.append(quoted if quoted is not None else value.encode("utf-8"))
        line = f"{tag} LOGIN"
        for part in parts:
            if isinstance(part, str):
                line += " " + part
                continue
            wire.send_command(f"{line} {{{len(part)}}}", "LOGIN")
            reply = wire.read_line()
            if not reply.startswith("+"):
                status, _unused, text = (
                    reply[len(tag) + 1 :].partition(" ") if reply.startswith(tag + " ") else ("BAD", "", reply)
                )
                return False, f"{status} {text}"
            wire.send_raw(part)
            line = ""
        wire.send_command(line, "LOGIN")
        status, reply = self._finish(wire, tag, [])
        return status == "OK", f"{status} {reply}"

    def logout(self, wire):
        status, reply, _unused = self.command(wire, "LOGOUT")
        if status != "OK":
            raise wire.error(ProtocolError, "logout_failed", reason=wire.excerpt(f"LOGOUT answered {status} {reply}"))

    # --- the round trip's mailbox ---------------------------------------------------------------
    def open_mailbox(self, wire):
        """SELECT INBOX, then ask the capabilities again: UIDPLUS is usually announced only after login."""
        self.select(wire)
        self._mailbox_caps = self.capabilities(wire)

    def find_message(self, wire, message_id):
        """The UIDs of the messages with this Message-ID (NOOP first: the server reports new mail), or None."""
        self.noop(wire)
        return self.find_uids(wire, message_id) or None

    def delete_message(self, wire, uids):
        """Remove exactly these messages; returns why they could not be removed, or None."""
        if self.delete_uids(wire, uids, self._mailbox_caps):
            return None
        return "the server lacks UIDPLUS; the message is only flagged \\Deleted"

    def select(self, wire, mailbox="INBOX"):
        self._expect_ok(wire, f"SELECT {quote(mailbox)}", "SELECT")

    def noop(self, wire):
        self._expect_ok(wire, "NOOP")

    def find_uids(self, wire, message_id):
        _unused, untagged = self._expect_ok(wire, f"UID SEARCH HEADER Message-ID {quote(message_id)}", "UID SEARCH")
        uids = []
        for line in untagged:
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "*" and parts[1].upper() == "SEARCH":
                uids.extend(int(p) for p in parts[2:] if p.isdigit())
        return uids

    def delete_uids(self, wire, uids, capabilities):
        """Flag and expunge exactly these messages (UID EXPUNGE, RFC 4315); False if they could only be flagged."""
        uid_set = ",".join(str(u) for u in uids)
        self._expect_ok(wire, f"UID STORE {uid_set} +FLAGS.SILENT (\\Deleted)", "UID STORE")
        if "UIDPLUS" in (c.upper() for c in capabilities):
            self._expect_ok(wire, f"UID EXPUNGE {uid_set}", "UID EXPUNGE")
            return True
        return False
