# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# No `from __future__ import annotations` here (nor annotations): this file must stay parseable by the
# Python versions below the floor, so that require_python() can report them (module_utils/_python_floor.py).

DOCUMENTATION = r"""
module: pop3_server_info
short_description: Check a POP3 server's connection, TLS, certificate and login, with evidence
version_added: 0.1.0
description:
  - Connects to a POP3 server the way a mail client does and reports, stage by stage, what works and what does
    not, with a fix for every problem.
  - 'Stages: connect, greeting, STLS (when O(security=starttls)), TLS handshake with an explicit verified
    TLS context, C(CAPA) re-read after TLS, authentication when credentials are given
    (C(AUTH) with SASL, RFC 5034, or C(USER)/C(PASS)), C(QUIT).'
  - O(timeout) bounds the whole check up to and including the login, diagnostic connections included; lines
    longer than 8 KiB and replies longer than 1000 lines are refused,
    so silent, slow or flooding servers cannot hang the task or exhaust memory.
  - When the TLS handshake fails the module connects a second time to name the cause (expired, not yet valid,
    wrong name, self-signed, unknown CA, TLS version too old, plaintext spoken on a TLS port).
  - Problems are returned as RV(findings) with a stable RV(findings[].code); the list of codes is in the
    collection's C(docs/findings.md).
  - Secrets (O(password), O(oauth2_token), O(accounts[].password), O(accounts[].oauth2_token)) never appear in
    results, messages or logs.
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
  - module: mailops.clients.smtp_server_info
  - module: mailops.clients.mail_roundtrip
"""

EXAMPLES = r"""
- name: Check POP3S and log in
  mailops.clients.pop3_server_info:
    host: mail.example.com
    username: alice@example.com
    password: "{{ vault_alice_password }}"
  register: pop3

- name: Check the STARTTLS port without credentials, only report
  mailops.clients.pop3_server_info:
    host: mail.example.com
    security: starttls
    fail_on: never
  register: pop3_starttls

- name: Show what is wrong
  ansible.builtin.debug:
    msg: "{{ pop3_starttls.findings | map(attribute='message') | list }}"
  when: pop3_starttls.verdict != 'ok'

- name: A server with a private CA, reached by address
  mailops.clients.pop3_server_info:
    host: 192.0.2.10
    server_name: mail.internal.example
    ca_path: /etc/ssl/private-ca.pem

- name: Check several mailboxes at once, four at a time
  mailops.clients.pop3_server_info:
    host: mail.example.com
    accounts:
      - username: alice@example.com
        password: "{{ vault_alice_password }}"
      - username: bob@example.com
        oauth2_token: "{{ bob_token }}"
    concurrency: 4
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
      description: V(pop3).
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
  description: The capabilities the server advertised; an empty list when that phase did not happen.
  returned: always
  type: dict
  contains:
    before_tls:
      description: In plaintext (O(security=starttls) or V(none)).
      type: list
      elements: str
    after_tls:
      description: Over TLS (C(CAPA) re-read after STLS, as RFC 2595 requires).
      type: list
      elements: str
auth_mechanisms:
  description: The SASL mechanisms (the C(SASL) capability) before and after TLS.
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
      description: The SASL mechanism, or V(POP3-USER) for C(USER)/C(PASS).
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
      description: Waiting for the greeting.
      type: float
    starttls:
      description: The STLS command.
      type: float
    tls:
      description: The TLS handshake.
      type: float
    capabilities:
      description: C(CAPA) commands.
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
    run_info_module("pop3")


if __name__ == "__main__":
    main()
