# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared connection options: the one argument spec, default ports and option validation.

Documented by the doc fragment ``mailops.clients._connection``; ``mail_roundtrip`` uses the same
spec for its ``smtp`` and ``mailbox`` sub-options.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ansible_collections.mailops.clients.plugins.module_utils._errors import OptionError
from ansible_collections.mailops.clients.plugins.module_utils._sasl import TOKEN_MECHANISMS
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import FAIL_ON, endpoint_key

PROTOCOLS = ("imap", "pop3", "smtp")
SECURITY_CHOICES = ("tls", "starttls", "none")
TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# auto and every mechanism of _sasl.MECHANISMS, in the order the doc fragment lists them (a unit test holds both)
AUTH_MECHANISM_CHOICES = ("auto", "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER")

DEFAULT_PORTS = {
    ("imap", "tls"): 993,
    ("imap", "starttls"): 143,
    ("imap", "none"): 143,
    ("pop3", "tls"): 995,
    ("pop3", "starttls"): 110,
    ("pop3", "none"): 110,
    ("smtp", "tls"): 465,
    ("smtp", "starttls"): 587,
    ("smtp", "none"): 25,
}


def default_port(protocol, security):
    return DEFAULT_PORTS[(protocol, security)]


def connection_argument_spec(protocol, checks=True):
    """The argument spec of the shared options for ``protocol`` (imap, pop3, smtp or mailbox).

    ``checks`` adds the options of the *_info modules (fail_on, accounts, concurrency,
    cert_expiry_warn_days); ``mail_roundtrip`` uses ``checks=False`` for its sub-options.
    ``mailbox`` (round trip) adds ``protocol: imap|pop3``.
    """
    spec = {
        "host": {"type": "str", "required": True},
        "port": {"type": "int"},
        "security": {"type": "str", "default": "tls", "choices": list(SECURITY_CHOICES)},
        "validate_certs": {"type": "bool", "default": True},
        "ca_path": {"type": "path"},
        "server_name": {"type": "str"},
        "tls_min_version": {"type": "str", "default": "TLSv1.2", "choices": list(TLS_VERSIONS)},
        "timeout": {"type": "float", "default": 10.0},
        "username": {"type": "str"},
        "password": {"type": "str", "no_log": True},
        "oauth2_token": {"type": "str", "no_log": True},
        "auth_mechanism": {"type": "str", "default": "auto", "choices": list(AUTH_MECHANISM_CHOICES)},
    }
    if protocol == "smtp":
        spec["helo_name"] = {"type": "str"}
    if protocol == "mailbox":
        spec["protocol"] = {"type": "str", "default": "imap", "choices": ["imap", "pop3"]}
    if checks:
        spec.update(
            {
                "cert_expiry_warn_days": {"type": "int", "default": 30},
                "allow_insecure": {"type": "bool", "default": False},
                "fail_on": {"type": "str", "default": "error", "choices": list(FAIL_ON)},
                "accounts": {
                    "type": "list",
                    "elements": "dict",
                    "options": {
                        "username": {"type": "str", "required": True},
                        "password": {"type": "str", "no_log": True},
                        "oauth2_token": {"type": "str", "no_log": True},
                    },
                },
                "concurrency": {"type": "int", "default": 8},
            }
        )
    return spec


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str | None = None
    oauth2_token: str | None = None
    mechanism: str = "auto"

    @property
    def secrets(self):
        return tuple(s for s in (self.password, self.oauth2_token) if s)

    def __repr__(self):  # never show secrets, even in a debugger or an unexpected traceback
        return f"Credentials(username={self.username!r}, mechanism={self.mechanism!r}, secrets=<hidden>)"


@dataclass(frozen=True)
class Settings:
    protocol: str
    host: str
    port: int
    security: str = "tls"
    validate_certs: bool = True
    ca_path: str | None = None
    server_name: str | None = None
    tls_min_version: str = "TLSv1.2"
    timeout: float = 10.0
    cert_expiry_warn_days: int = 30
    helo_name: str | None = None
    fail_on: str = "error"
    concurrency: int = 8
    allow_insecure: bool = False
    credentials: Credentials | None = None
    accounts: tuple = field(default_factory=tuple)
    # Internal (not a module option): bind the client socket to this address. Tests use 127.0.0.2
    # because Dovecot treats a client with the server's own address as secured.
    source_address: str | None = None

    @property
    def sni(self):
        return self.server_name or self.host

    @property
    def label(self):
        """The endpoint key used across the collection (``_vocabulary.endpoint_key``): ``imap://host:port/security``."""
        return endpoint_key(self.endpoint())

    def endpoint(self):
        return {
            "protocol": self.protocol,
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "server_name": self.sni,
        }


def _credentials(entry, mechanism, where):
    username = entry.get("username")
    password = entry.get("password")
    token = entry.get("oauth2_token")
    if password is not None and token is not None:
        raise OptionError(f"{where}: password and oauth2_token are mutually exclusive")
    if (password is not None or token is not None) and not username:
        raise OptionError(f"{where}: username is required with password or oauth2_token")
    if username and password is None and token is None:
        raise OptionError(f"{where}: username {username!r} needs a password or an oauth2_token")
    if not username:
        return None
    for name, value in (("username", username), ("password", password), ("oauth2_token", token)):
        if value is not None and any(c in value for c in "\r\n\0"):
            raise OptionError(f"{where}: {name} must not contain CR, LF or NUL characters")
    if mechanism in TOKEN_MECHANISMS and token is None:
        raise OptionError(f"{where}: auth_mechanism {mechanism} needs oauth2_token, not a password")
    if mechanism not in TOKEN_MECHANISMS and mechanism != "auto" and password is None:
        raise OptionError(f"{where}: auth_mechanism {mechanism} needs a password, not an oauth2_token")
    return Credentials(username=username, password=password, oauth2_token=token, mechanism=mechanism)


def validate(params, protocol):
    """Check the module parameters and return Settings; raise OptionError with a precise message."""
    if protocol not in PROTOCOLS:
        raise OptionError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    host = (params.get("host") or "").strip()
    if not host:
        raise OptionError("host must not be empty")
    security = params.get("security") or "tls"
    if security not in SECURITY_CHOICES:
        raise OptionError(f"security must be one of tls, starttls, none, got {security!r}")
    port = params.get("port")
    if port is None:
        port = default_port(protocol, security)
    if not 1 <= port <= 65535:
        raise OptionError(f"port must be between 1 and 65535, got {port}")
    timeout = params.get("timeout")
    timeout = 10.0 if timeout is None else float(timeout)
    if not 0 < timeout <= 3600:
        raise OptionError(f"timeout must be more than 0 and at most 3600 seconds, got {timeout:g}")
    tls_min = params.get("tls_min_version") or "TLSv1.2"
    if tls_min not in TLS_VERSIONS:
        raise OptionError(f"tls_min_version must be one of {', '.join(TLS_VERSIONS)}, got {tls_min!r}")
    server_name = (params.get("server_name") or "").strip() or None
    if server_name is not None and any(c.isspace() for c in server_name):
        raise OptionError(f"server_name must be a host name or an address, got {server_name!r}")
    ca_path = params.get("ca_path")
    if ca_path and not os.path.exists(ca_path):
        raise OptionError(f"ca_path {ca_path} does not exist")
    warn_days = params.get("cert_expiry_warn_days")
    warn_days = 30 if warn_days is None else warn_days
    if warn_days < 0:
        raise OptionError(f"cert_expiry_warn_days must not be negative, got {warn_days}")
    concurrency = params.get("concurrency")
    concurrency = 8 if concurrency is None else concurrency
    if not 1 <= concurrency <= 64:
        raise OptionError(f"concurrency must be between 1 and 64, got {concurrency}")
    mechanism = params.get("auth_mechanism") or "auto"
    if mechanism not in AUTH_MECHANISM_CHOICES:
        raise OptionError(f"auth_mechanism must be one of {', '.join(AUTH_MECHANISM_CHOICES)}, got {mechanism!r}")
    fail_on = params.get("fail_on") or "error"
    credentials = _credentials(params, mechanism, "options")
    accounts = params.get("accounts") or []
    if accounts and credentials is not None:
        raise OptionError("username/password/oauth2_token and accounts are mutually exclusive")
    seen = set()
    checked = []
    for index, entry in enumerate(accounts):
        where = f"accounts[{index}]"
        if not entry.get("username"):
            raise OptionError(f"{where}: username is required")
        if entry["username"] in seen:
            raise OptionError(f"{where}: username {entry['username']!r} is listed twice")
        seen.add(entry["username"])
        checked.append(_credentials(entry, mechanism, where))
    helo_name = params.get("helo_name") if protocol == "smtp" else None
    if helo_name is not None and (not helo_name.strip() or any(c.isspace() for c in helo_name)):
        raise OptionError(f"helo_name must be a host name or an address literal without spaces, got {helo_name!r}")
    return Settings(
        protocol=protocol,
        host=host,
        port=port,
        security=security,
        validate_certs=bool(params.get("validate_certs", True)),
        ca_path=ca_path or None,
        server_name=server_name,
        tls_min_version=tls_min,
        timeout=timeout,
        cert_expiry_warn_days=warn_days,
        helo_name=helo_name,
        fail_on=fail_on,
        concurrency=concurrency,
        allow_insecure=bool(params.get("allow_insecure", False)),
        credentials=credentials,
        accounts=tuple(checked),
    )
