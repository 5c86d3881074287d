# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mail_settings_info
short_description: Discover the mail server settings of an email address and prove them against the servers
version_added: 0.2.0
description:
  - Finds the IMAP/POP3 and SMTP settings of an address the way a mail client does, then connects to every server
    found with the same checks as M(mailops.clients.imap_server_info), M(mailops.clients.pop3_server_info) and
    M(mailops.clients.smtp_server_info) (certificate, capabilities, STARTTLS, AUTH mechanisms, and the login when
    O(password) is given). Only a server that passed is ever proposed.
  - 'Sources, all asked at once: the provider''s autoconfig document (C(autoconfig): C(autoconfig.<domain>);
    C(wellknown): C(<domain>/.well-known/autoconfig/)), the ISPDB (C(ispdb)), the MX host''s provider (C(mx)),
    RFC 6186/RFC 8314 SRV records (C(srv)), Microsoft Exchange Autodiscover POX (C(autodiscover)) and guessed
    host names and ports (C(guess)). See C(docs/discovery.md) for the order, the trust rules and how this compares
    to Thunderbird.'
  - Documents are hints, not truth. A document fetched over plain HTTP or from a host whose certificate does not
    verify only adds candidates, with a C(discovery_document_untrusted) finding; a document or record that names a
    server that does not verify gets a C(discovery_candidate_failed) finding; discovery goes on.
  - 'Ranking: verified before unverified, IMAP before POP3, implicit TLS before STARTTLS before none, then the
    source order above. A cleartext result comes only with a C(discovery_cleartext_only) error finding.'
  - Credentials are never sent to an autoconfig, ISPDB or Autodiscover URL, and never over an unencrypted
    connection (cleartext candidates are probed without login).
  - This is an action plugin; it runs on the controller and needs the Python package C(dnspython) there.
author:
  - mailops.clients contributors (@mailops)
requirements:
  - dnspython (on the controller)
extends_documentation_fragment:
  [action_common_attributes, action_common_attributes.flow, mailops.clients._controller_action]
attributes:
  check_mode:
    support: full
    details: Nothing is changed; discovery and the probes run in check mode too.
  diff_mode:
    support: none
options:
  email:
    description:
      - The address to discover settings for. Mutually exclusive with O(emails).
    type: str
  emails:
    description:
      - Several addresses; each domain's sources are asked once. The result is then RV(results), one entry per
        address in the given order. Mutually exclusive with O(email).
    type: list
    elements: str
  username:
    description:
      - Login name for the verification. Default is the name the document asks for (C(%EMAILADDRESS%) or
        C(%EMAILLOCALPART%)), else the address. Needs O(password).
    type: str
  password:
    description:
      - With a password the login is part of the verification (never over an unencrypted connection, never sent to
        a document URL).
    type: str
  timeout:
    description:
      - Total seconds for the whole discovery, every source and every probe included.
    type: float
    default: 30
  ca_path:
    description:
      - CA bundle (PEM) for the servers' and document hosts' certificates, instead of the system's.
    type: path
  validate_certs:
    description:
      - Verify certificates. With V(false) no server counts as having a valid certificate and documents are
        hints only.
    type: bool
    default: true
  dns_servers:
    description:
      - DNS servers to ask, each an IP address or C(IP:PORT) (C([IPv6]:PORT)). Host names from these servers are
        probed by address with the name as TLS server name. Default is the system resolver.
    type: list
    elements: str
    default: []
  sources:
    description:
      - Which sources to ask.
    type: list
    elements: str
    choices: [autoconfig, wellknown, ispdb, mx, srv, autodiscover, guess]
    default: [autoconfig, wellknown, ispdb, mx, srv, autodiscover, guess]
  ispdb_url:
    description:
      - Base URL of the ISPDB; the domain is appended. Thunderbird's public ISPDB by default.
    type: str
    default: https://autoconfig.thunderbird.net/v1.1/
  send_email_address:
    description:
      - Add C(?emailaddress=<address>) to the autoconfig URLs, as Thunderbird does by default.
    type: bool
    default: true
seealso:
  - module: mailops.clients.imap_server_info
  - module: mailops.clients.smtp_server_info
  - name: RFC 6186
    description: Use of SRV Records for Locating Email Submission/Access Services (section 3, the labels the C(srv)
      source asks).
    link: https://www.rfc-editor.org/rfc/rfc6186
  - name: RFC 8314
    description: "Cleartext Considered Obsolete: Use of TLS for Email Submission and Access (section 7.3: the
      C(_submissions._tcp) label)."
    link: https://www.rfc-editor.org/rfc/rfc8314
"""

EXAMPLES = r"""
- name: Discover and verify the settings of one address
  mailops.clients.mail_settings_info:
    email: alice@example.org
  register: found

- name: Show the mailops_servers entry
  ansible.builtin.debug:
    var: found.server

- name: Verify the login too, through a given DNS server, without the third-party ISPDB
  mailops.clients.mail_settings_info:
    email: alice@example.org
    password: "{{ vault_alice_password }}"
    dns_servers: [192.0.2.53]
    sources: [autoconfig, wellknown, srv, autodiscover, guess]
  no_log: true

- name: Many addresses at once (each domain is asked once)
  mailops.clients.mail_settings_info:
    emails: "{{ mailops_accounts | map(attribute='email') | list }}"
    timeout: 60
  register: fleet
"""

RETURN = r"""
server:
  description:
    - A ready C(mailops_servers) entry built from the best verified incoming and outgoing servers, or V(null) when
      either direction has nothing verified. C(allow_insecure=true) is set only for a cleartext result.
  returned: with O(email)
  type: dict
  sample:
    incoming: {protocol: imap, host: imap.example.org, port: 993, security: tls, auth: password}
    outgoing: {host: smtp.example.org, port: 465, security: tls, auth: password}
username_form:
  description:
    - The login name to configure - V(email), V(local_part) or a literal name - from the document's
      placeholders or O(username); V(null) without RV(server).
  returned: with O(email)
  type: str
  sample: email
candidates:
  description: Every server found, best first, each with how it was found and how it verified.
  returned: with O(email)
  type: list
  elements: dict
  contains:
    direction:
      description: V(incoming) or V(outgoing).
      type: str
    protocol:
      description: V(imap), V(pop3) or V(smtp).
      type: str
    host:
      description: Host name.
      type: str
    port:
      description: Port.
      type: int
    security:
      description: V(tls), V(starttls) or V(none).
      type: str
    auth:
      description: Authentication as C(mailops_servers) spells it.
      type: str
    source:
      description: The first source that named it.
      type: str
    sources:
      description: Every source that named it.
      type: list
      elements: str
    url:
      description: The document URL or SRV name it came from.
      type: str
    trusted:
      description: Named by a document fetched over verified HTTPS, or by DNS.
      type: bool
    verified:
      description: The probe found no error.
      type: bool
    verdict:
      description: The probe's verdict, V(ok), V(warning) or V(error).
      type: str
    login:
      description: The probe's login result (C(attempted), C(succeeded), C(mechanism), C(username)), or V(null).
      type: dict
    findings:
      description: The probe's findings (same codes as the C(*_server_info) modules).
      type: list
      elements: dict
  sample:
    - {direction: incoming, protocol: imap, host: imap.example.org, port: 993, security: tls, auth: password,
       source: autoconfig, sources: [autoconfig, srv], url: "https://autoconfig.example.org/mail/config-v1.1.xml",
       trusted: true, verified: true, verdict: ok, findings: []}
sources:
  description:
    - Per source name, what it returned - C(status) (V(found), V(empty), V(failed)), C(detail), the C(urls) asked
      and the number of C(candidates).
  returned: with O(email)
  type: dict
  sample:
    srv: {status: found, detail: "_imaps._tcp.example.org: 1; ", urls: ["_imaps._tcp.example.org"], candidates: 1}
findings:
  description:
    - Discovery findings (C(discovery_*) codes, stage C(discovery)) with C(code), C(severity), C(stage),
      C(message) and C(fix).
  returned: with O(email)
  type: list
  elements: dict
results:
  description:
    - With O(emails), one entry per address - C(email), C(server), C(username_form), C(candidates), C(sources),
      C(findings) as above.
  returned: with O(emails)
  type: list
  elements: dict
"""
