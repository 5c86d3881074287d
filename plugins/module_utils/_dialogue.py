# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the engine asks of a protocol: the one interface of the IMAP, POP3 and SMTP dialogues.

The engine (``_probe``) drives the stages (connect, greeting, capabilities, STARTTLS, TLS, login,
logout) and never asks which protocol it speaks: each dialogue knows its greeting, how to ask for
its capabilities, its STARTTLS command, which login it offers and when that login is refused.  A
dialogue speaks over a ``_wire.Wire`` and keeps the state of one connection.
"""

from __future__ import annotations

import base64
import binascii

from ansible_collections.mailops.clients.plugins.module_utils._errors import AuthFailure
from ansible_collections.mailops.clients.plugins.module_utils._sasl import CLEARTEXT_MECHANISMS
from ansible_collections.mailops.clients.plugins.module_utils._wire import protocol_name

# Challenges answered before a SASL exchange counts as broken (PLAIN and XOAUTH2 need 1, LOGIN 2, SCRAM 3).
MAX_AUTH_STEPS = 6


def decode_challenge(text):
    """A SASL challenge's bytes (base64, RFC 4422 section 5), or None when it is not base64."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def encode_response(wire, response):
    """A SASL response in base64, registered with the wire as a secret (it carries the credentials)."""
    return wire.remember_secret(base64.b64encode(response).decode("ascii"))


class Dialogue:
    """One connection's conversation in one protocol; subclasses fill in the protocol's rules.

    Every subclass implements, each speaking over a ``Wire``:

    * ``read_greeting(wire)``: read and check the greeting; the capabilities it carries, or None;
    * ``capabilities(wire)``: ask for them (a list of strings in the protocol's own form);
    * ``starttls_offered(capabilities)`` and ``starttls(wire)`` (``TLSFailure`` starttls_failed when refused);
    * ``auth_mechanisms(capabilities)``: the SASL mechanisms offered, upper case;
    * ``authenticate(wire, mechanism, capabilities)``: a SASL exchange, (succeeded, the server's final text);
    * ``logout(wire)``.

    A protocol with a password command of its own sets ``login_command`` and implements
    ``login(wire, username, password)`` and ``login_command_offered``.  The round trip uses
    ``open_mailbox``, ``find_message`` and ``delete_message`` (IMAP, POP3) and ``send_message`` (SMTP).
    """

    protocol = None  # "imap", "pop3" or "smtp": the protocol of the settings this dialogue serves
    starttls_command = None  # the command that starts TLS (RFC 3501 STARTTLS, RFC 2595 STLS, RFC 3207 STARTTLS)
    login_command = None  # the protocol's own password command as login.mechanism names it, if it has one
    login_command_text = None  # how findings name that command
    sees_new_mail = True  # whether a session sees messages that arrive while it is open
    # whether a plaintext connection without a login is ordinary use (relay between MTAs, RFC 5321) and no exposure
    anonymous_plaintext_usual = False

    @classmethod
    def for_settings(cls, settings):
        """The dialogue for one connection with these settings."""
        return cls()

    @property
    def display(self):
        return protocol_name(self.protocol)

    def login_command_offered(self, capabilities):
        """Whether ``login_command`` may be used on this connection."""
        return False

    def login_refused(self, capabilities):
        """What in the capabilities says the server refuses password login here (evidence text), or None."""

    def capability_findings(self, capabilities, settings):
        """What the capabilities of the login's phase say when no login is tried: [(code, severity, params)]."""
        return []

    def password_ways(self, capabilities):
        """The ways offered to send a password readably: cleartext SASL mechanisms and the login command."""
        ways = [m for m in self.auth_mechanisms(capabilities) if m in CLEARTEXT_MECHANISMS]
        if self.login_command_offered(capabilities):
            ways.append(self.login_command_text)
        return ways

    def too_many_steps(self, wire, mechanism):
        """The error for a SASL exchange that did not end within ``MAX_AUTH_STEPS`` challenges."""
        return wire.error(
            AuthFailure,
            "auth_failed",
            username=mechanism.username,
            mechanism=mechanism.name,
            reply="too many authentication round trips",
        )
