# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SASL client mechanisms: PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER (pure, no I/O).

A mechanism object produces the initial response and answers server challenges with raw bytes;
the protocol modules do the base64 framing (IMAP AUTHENTICATE, POP3 AUTH, SMTP AUTH).
"""

from __future__ import annotations

import hashlib
import hmac
import json

# Each list in the order auth_mechanism auto prefers its mechanisms over TLS.
PASSWORD_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")
TOKEN_MECHANISMS = ("OAUTHBEARER", "XOAUTH2")
MECHANISMS = PASSWORD_MECHANISMS + TOKEN_MECHANISMS
# Mechanisms that put the secret itself on the wire (readable without TLS).
CLEARTEXT_MECHANISMS = ("PLAIN", "LOGIN", *TOKEN_MECHANISMS)


class SaslError(ValueError):
    """The server's challenge cannot be answered (the mechanism's exchange went wrong)."""


def _utf8(value):
    return value.encode("utf-8")


class Mechanism:
    name = ""

    def __init__(self, username, secret):
        self.username = username
        self.secret = secret
        self.step = 0

    def initial_response(self):
        """Bytes for the initial response, or None when the mechanism waits for a challenge."""

    def respond(self, challenge):
        raise NotImplementedError

    def server_error(self):
        """Details the server put in an error challenge (OAuth JSON), or None."""


class Plain(Mechanism):
    """RFC 4616: [authzid] NUL authcid NUL passwd (authzid empty)."""

    name = "PLAIN"

    def initial_response(self):
        return b"\0" + _utf8(self.username) + b"\0" + _utf8(self.secret)

    def respond(self, challenge):
        # Only reached when the server did not accept an initial response: send it now, once.
        if self.step:
            raise SaslError("PLAIN got a second challenge")
        self.step += 1
        return self.initial_response()


class Login(Mechanism):
    """The non-standard LOGIN mechanism: the server asks for the user name, then the password."""

    name = "LOGIN"

    def respond(self, challenge):
        self.step += 1
        prompt = challenge.strip().lower()
        if self.step == 1 and not prompt.startswith(b"password"):
            return _utf8(self.username)
        if self.step <= 2:
            return _utf8(self.secret)
        raise SaslError("LOGIN got a third challenge")


class CramMD5(Mechanism):
    """RFC 2195: user SP hex(HMAC-MD5(password, challenge)); the password never crosses the wire."""

    name = "CRAM-MD5"

    def respond(self, challenge):
        if self.step or not challenge:
            raise SaslError("CRAM-MD5 needs exactly one non-empty challenge")
        self.step += 1
        digest = hmac.new(_utf8(self.secret), challenge, hashlib.md5).hexdigest()
        return _utf8(self.username) + b" " + digest.encode("ascii")


class _OAuthBase(Mechanism):
    def __init__(self, username, secret):
        super().__init__(username, secret)
        self._error = None

    def respond(self, challenge):
        # A challenge after the initial response carries a JSON error; the client must answer it
        # (XOAUTH2: empty response, OAUTHBEARER: a single %x01) to get the final failure reply.
        if self.step:
            raise SaslError(f"{self.name} got a second error challenge")
        self.step += 1
        try:
            self._error = json.loads(challenge.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self._error = {"raw": challenge.decode("utf-8", "replace")[:200]}
        return self.error_ack

    def server_error(self):
        return self._error


class XOAuth2(_OAuthBase):
    """Google/Microsoft XOAUTH2: user=<u>^Aauth=Bearer <token>^A^A."""

    name = "XOAUTH2"
    error_ack = b""

    def initial_response(self):
        return b"user=" + _utf8(self.username) + b"\x01auth=Bearer " + _utf8(self.secret) + b"\x01\x01"


def gs2_escape(value):
    """RFC 5801 saslname escaping for the gs2 header: ',' -> '=2C', '=' -> '=3D'."""
    return value.replace("=", "=3D").replace(",", "=2C")


class OAuthBearer(_OAuthBase):
    """RFC 7628: gs2 header n,a=<user>, then ^Ahost=..^Aport=..^Aauth=Bearer <token>^A^A."""

    name = "OAUTHBEARER"
    error_ack = b"\x01"

    def __init__(self, username, secret, host=None, port=None):
        super().__init__(username, secret)
        self.host = host
        self.port = port

    def initial_response(self):
        parts = [b"n,a=" + _utf8(gs2_escape(self.username)) + b","]
        if self.host:
            parts.append(b"host=" + _utf8(self.host))
        if self.port:
            parts.append(b"port=" + str(self.port).encode("ascii"))
        parts.append(b"auth=Bearer " + _utf8(self.secret))
        return b"\x01".join(parts) + b"\x01\x01"


_CLASSES = {cls.name: cls for cls in (Plain, Login, CramMD5, XOAuth2, OAuthBearer)}


def create(name, username, secret, host=None, port=None):
    """A fresh mechanism object for one authentication exchange."""
    if name == "OAUTHBEARER":
        return OAuthBearer(username, secret, host=host, port=port)
    try:
        return _CLASSES[name](username, secret)
    except KeyError:
        raise SaslError(f"unsupported SASL mechanism {name}") from None


def choose_mechanism(requested, offered, has_password, has_token, encrypted):
    """Pick the mechanism to use.

    Returns ``(mechanism, None)`` or ``(None, reason)`` where reason is ``"not_offered"`` (the
    requested one is missing) or ``"no_common"`` (auto found nothing usable).
    ``offered`` is the upper-case list the server advertised.
    """
    offered = [m.upper() for m in offered]
    if requested and requested != "auto":
        return (requested, None) if requested in offered else (None, "not_offered")
    if has_token:
        preference = TOKEN_MECHANISMS
    elif has_password:
        # Over TLS PLAIN is the standard; without TLS prefer CRAM-MD5, which keeps the password off the wire.
        preference = PASSWORD_MECHANISMS if encrypted else ("CRAM-MD5", "PLAIN", "LOGIN")
    else:
        return None, "no_common"
    for name in preference:
        if name in offered:
            return name, None
    return None, "no_common"
