# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# No `from __future__ import annotations` here (nor annotations): this file must stay parseable by the
# Python versions below the floor, so that require_python() can report them (module_utils/_python_floor.py).

DOCUMENTATION = r"""
module: smtp_server_info
short_description: Check an SMTP submission or relay server's connection, TLS, certificate and AUTH, with evidence
version_added: 0.1.0
description:
  - Connects to an SMTP server (submission on 587/465, or an MX on 25) the way a mail client does and reports,
    stage by stage, what works and what does not, with a fix for every problem.
  - 'Stages: connect, greeting (220), C(EHLO), STARTTLS (when O(security=starttls)), TLS handshake with an
    explicit verified TLS context, C(EHLO) again over TLS, C(AUTH) (RFC 4954) when credentials are given, C(QUIT).
    No mail is sent; see M(mailops.clients.mail_roundtrip) for that.'
  - Without credentials, a missing C(AUTH) in the C(EHLO) reply is a warning on a submission port (465, 587, or
    O(security=tls)) and only informational elsewhere (an MX on port 25 does not offer AUTH).
  - O(timeout) bounds the whole check up to and including the login, diagnostic connections included; lines
    longer than 8 KiB and replies longer than 1000 lines are refused,
    so silent, slow or flooding servers cannot hang the task or exhaust memory.
  - When the TLS handshake fails the module connects a second time to name the cause (expired, not yet valid,
    wrong name, self-signed, unknown CA, TLS version too old, plaintext spoken on a TLS port).
  - Problems are returned as RV(findings) with a stable RV(findings[].code); the list of codes is in the
    collection's C(docs/findings.md).
  - Secrets (O(password), O(oauth2_token), O(accounts[].password), O(accounts[].oauth2_token)) never appear in
    results, messages or logs.
options:
  helo_name:
    description:
      - The name sent with C(EHLO). Default is the managed node's host name when it contains a dot, else the
        address literal of the local end of the connection (for example C([192.0.2.5])), as RFC 5321 allows.
    type: str
author:
  - mailops.clients contributors (@mailops)
extends_documentation_fragment:
  - mailops.clients._connection
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same checks in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: mailops.clients.imap_server_info
  - module: mailops.clients.pop3_server_info
  - module: mailops.clients.mail_roundtrip
"""

EXAMPLES = r"""
- name: Check submission with STARTTLS and authenticate
  mailops.clients.smtp_server_info:
    host: smtp.example.com
    security: starttls
    username: alice@example.com
    password: "{{ vault_alice_password }}"
  register: submission

- name: Check implicit TLS submission (465) with an OAuth token
  mailops.clients.smtp_server_info:
    host: smtp.example.com
    username: alice@example.com
    oauth2_token: "{{ alice_token }}"
    auth_mechanism: OAUTHBEARER

- name: Check an MX on port 25 (plaintext, STARTTLS optional), only report
  mailops.clients.smtp_server_info:
    host: mx.example.com
    security: none
    helo_name: probe.example.com
    fail_on: never
  register: mx
"""

RETURN = r"""
changed:
  description: Always V(false); the module only reads.
  returned: always
  type: bool
verdict:
  description: The worst severity among the findings (and the accounts); V(ok), V(warning) or V(error).
  returned: always
  type: str
  sample: ok
findings:
  description: Every problem found, in the order found. Severity V(info) entries do not change the verdict.
  returned: always
  type: list
  elements: dict
  contains:
    code:
      description: Stable lower_snake_case identifier, documented in C(docs/findings.md).
      type: str
      sample: cert_expiring_soon
    severity:
      description: V(error), V(warning) or V(info).
      type: str
    stage:
      description: V(connect), V(banner), V(starttls), V(tls), V(capabilities), V(auth) or V(logout).
      type: str
    message:
      description: What was observed, with the server's own words where it said something.
      type: str
    fix:
      description: What to change.
      type: str
endpoint:
  description: The endpoint that was checked.
  returned: always
  type: dict
  contains:
    protocol:
      description: V(smtp).
      type: str
    host:
      description: O(host).
      type: str
    port:
      description: The port used (O(port) or its default).
      type: int
    security:
      description: O(security).
      type: str
    server_name:
      description: The name sent as SNI and checked against the certificate.
      type: str
tls:
  description: The negotiated TLS session; V(null) when no handshake completed.
  returned: always
  type: dict
  contains:
    version:
      description: Protocol version.
      type: str
      sample: TLSv1.3
    cipher:
      description: Cipher suite name.
      type: str
      sample: TLS_AES_256_GCM_SHA384
certificate:
  description:
    - The server certificate; V(null) when none was received.
    - After a failed verification it was read over a second, unverified handshake, so it is there to explain
      the failure.
  returned: always
  type: dict
  contains:
    subject:
      description: Subject DN (RFC 4514).
      type: str
      sample: CN=mail.example.com
    issuer:
      description: Issuer DN (RFC 4514).
      type: str
    sans:
      description: Subject alternative names (C(DNS:...), C(IP:...)).
      type: list
      elements: str
      sample: [DNS:mail.example.com, IP:192.0.2.10]
    not_before:
      description: Start of validity (UTC, ISO 8601).
      type: str
    not_after:
      description: End of validity (UTC, ISO 8601).
      type: str
      sample: "2026-03-01T12:00:00Z"
    days_left:
      description: Whole days until RV(certificate.not_after); negative when expired.
      type: int
    chain_verified:
      description: V(true) when the chain was verified to a trusted CA (and the name matched).
      type: bool
    hostname_matches:
      description: Whether the certificate covers the server name (RFC 6125 rules, as OpenSSL applies them).
      type: bool
    fingerprint_sha256:
      description: SHA-256 of the DER certificate, hex.
      type: str
capabilities:
  description: The C(EHLO) keywords (without the greeting line); an empty list when that phase did not happen.
  returned: always
  type: dict
  contains:
    before_tls:
      description: In plaintext (O(security=starttls) or V(none)).
      type: list
      elements: str
    after_tls:
      description: Over TLS (C(EHLO) repeated after STARTTLS, as RFC 3207 requires).
      type: list
      elements: str
auth_mechanisms:
  description: The SASL mechanisms of the C(AUTH) keyword before and after TLS.
  returned: always
  type: dict
  contains:
    before_tls:
      description: Offered in plaintext.
      type: list
      elements: str
    after_tls:
      description: Offered over TLS.
      type: list
      elements: str
      sample: [PLAIN, LOGIN]
login:
  description: The login with O(username), if any.
  returned: always
  type: dict
  contains:
    attempted:
      description: Whether credentials were sent.
      type: bool
    succeeded:
      description: Whether the server accepted them.
      type: bool
    mechanism:
      description: The SASL mechanism.
      type: str
    username:
      description: O(username).
      type: str
accounts:
  description: One entry per O(accounts) item, in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    username:
      description: The account's user name.
      type: str
    verdict:
      description: V(ok), V(warning) or V(error) for this account.
      type: str
    findings:
      description:
        - This account's own findings (its authentication, and errors of its connection), with the keys of
          RV(findings).
        - Endpoint-wide findings (an expiring certificate, for example) are reported once, in RV(findings).
      type: list
      elements: dict
    login:
      description:
        - Like RV(login), without RV(login.username) (it is RV(accounts[].username)).
        - Per-account timings are not returned; on sweeps of thousands of accounts, masking every secret in every
          returned value took a noticeable share of the run. Probe one account with O(username) to get
          RV(timings_ms).
      type: dict
      contains:
        attempted:
          description: Whether credentials were sent (V(false) when the endpoint failed first).
          type: bool
        succeeded:
          description: Whether the server accepted them.
          type: bool
        mechanism:
          description: Like RV(login.mechanism).
          type: str
timings_ms:
  description: Milliseconds spent per stage; V(null) for stages that did not run.
  returned: always
  type: dict
  contains:
    connect:
      description: DNS and TCP connect.
      type: float
    banner:
      description: Waiting for the 220 greeting.
      type: float
    starttls:
      description: The STARTTLS command.
      type: float
    tls:
      description: The TLS handshake.
      type: float
    capabilities:
      description: C(EHLO) commands.
      type: float
    auth:
      description: Authentication.
      type: float
    logout:
      description: QUIT.
      type: float
    total:
      description: The whole probe, diagnostics included.
      type: float
"""

from ansible_collections.mailops.clients.plugins.module_utils._python_floor import require_python

# Before the module_utils that need Python 3.7+: an older Python gets a clear failure, not a SyntaxError.
require_python()

from ansible_collections.mailops.clients.plugins.module_utils._info_module import run_info_module


def main():
    run_info_module("smtp")


if __name__ == "__main__":
    main()
