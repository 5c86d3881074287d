# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The shared options of imap_server_info, pop3_server_info and smtp_server_info
    # (argument spec: plugins/module_utils/_connection.py connection_argument_spec()).
    DOCUMENTATION = r"""
options:
  host:
    description:
      - Host name or IP address of the mail server.
      - When you connect by IP address, set O(server_name) to the name in the server certificate.
    type: str
    required: true
  port:
    description:
      - TCP port. The default follows the protocol and O(security)
        (IMAP V(993) for V(tls), V(143) for V(starttls)/V(none); POP3 V(995)/V(110); SMTP V(465) for V(tls),
        V(587) for V(starttls), V(25) for V(none)).
    type: int
  security:
    description:
      - V(tls) is implicit TLS (the TLS handshake comes first, as on ports 993, 995 and 465).
      - V(starttls) reads the plaintext greeting, requires the server to advertise STARTTLS (IMAP, SMTP) or STLS
        (POP3), upgrades, and re-reads the capabilities over TLS. When the server does not offer it the result is
        the finding C(starttls_not_offered); the module never falls back to plaintext.
      - V(none) speaks plaintext and reports C(insecure_plaintext_connection).
    type: str
    choices: [tls, starttls, none]
    default: tls
  validate_certs:
    description:
      - Verify the certificate chain and that the certificate covers O(server_name).
      - With V(false) the certificate is still read and judged (expiry, name, self-signed), but problems are
        warnings and C(cert_not_verified) is reported.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file (or an OpenSSL hashed directory) of CA certificates to trust instead of the system store,
        for servers with a private CA.
    type: path
  server_name:
    description:
      - The name sent as SNI and checked against the certificate. Defaults to O(host).
    type: str
  tls_min_version:
    description:
      - The oldest TLS version accepted. When the server only negotiates an older one the result is
        C(tls_version_too_old), naming the version the server offers.
      - V(TLSv1) and V(TLSv1.1) also lower the OpenSSL security level so such servers can be reached at all;
        a connection that then uses them is reported as C(tls_version_deprecated).
    type: str
    choices: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
    default: TLSv1.2
  timeout:
    description:
      - Seconds allowed for the whole check up to and including the login (DNS and connect, greeting, STARTTLS,
        TLS handshake, capabilities, authentication), including every diagnostic connection made on the way (for
        example the TLS handshake that tells a silent server from one that expects implicit TLS, which runs
        side by side with the wait for the greeting). A server that accepts the connection and never speaks,
        or sends one byte at a time, ends the check after this time with C(banner_timeout) or C(tls_timeout).
      - Stages after the login (logout) get this many seconds each. With O(accounts), each account's login
        is a check of its own with its own O(timeout).
      - Earlier development versions applied O(timeout) to each stage separately, so a check could take a
        multiple of it.
    type: float
    default: 10
  cert_expiry_warn_days:
    description:
      - Report C(cert_expiring_soon) (a warning) when the server certificate expires in fewer days than this.
    type: int
    default: 30
  username:
    description:
      - Log in as this user (often the full mail address). Needs O(password) or O(oauth2_token).
      - Without credentials the module checks everything up to authentication and reports the offered mechanisms.
    type: str
  password:
    description:
      - Password for O(username). Never returned or logged.
    type: str
  oauth2_token:
    description:
      - OAuth 2.0 bearer token for O(username), used with OAUTHBEARER (RFC 7628) or XOAUTH2. Never returned or
        logged.
    type: str
  auth_mechanism:
    description:
      - SASL mechanism to use. V(auto) picks OAUTHBEARER, then XOAUTH2 for a token; PLAIN, then LOGIN, then
        CRAM-MD5 for a password over TLS (CRAM-MD5 first without TLS, as it keeps the password off the wire); and
        falls back to the IMAP C(LOGIN) command or POP3 C(USER)/C(PASS) when the server offers no usable SASL
        mechanism.
      - A named mechanism that the server does not advertise gives C(auth_mechanism_not_offered).
    type: str
    choices: [auto, PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER]
    default: auto
  allow_insecure:
    description:
      - Accept a server that offers password login only without TLS (O(security=none) on a port without
        STARTTLS). C(cleartext_auth_only) then becomes a warning instead of an error, still naming the exposure,
        so the verdict can pass with O(fail_on=error). C(insecure_plaintext_connection) and
        C(cleartext_credentials) are still reported.
      - The inventory's C(allow_insecure) on a server definition is the same opt-in.
      - Has no effect with O(security=tls) or O(security=starttls).
    type: bool
    default: false
  fail_on:
    description:
      - Fail the task when the verdict reaches this level; the failure message names the endpoint and lists the
        findings (one C(code) and message each), and all return values are still returned.
      - V(never) only reports; use it to collect results with RV(verdict) and RV(findings).
    type: str
    choices: [error, warning, never]
    default: error
  accounts:
    description:
      - Check many credentials against this one endpoint in one task (each account gets its own connection).
        Cannot be combined with O(username).
      - The endpoint is probed once without credentials first; when that already fails before authentication,
        no account is tried.
    type: list
    elements: dict
    suboptions:
      username:
        description: The user name.
        type: str
        required: true
      password:
        description: Its password (or give O(accounts[].oauth2_token)).
        type: str
      oauth2_token:
        description: Its OAuth 2.0 bearer token.
        type: str
  concurrency:
    description:
      - How many O(accounts) are checked at the same time (1 to 64).
      - Keep it low for servers with connection limits per client address (Dovecot
        C(mail_max_userip_connections), C(process_limit)).
    type: int
    default: 8
"""
