# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mail_srv_records
short_description: Publish the SRV records (RFC 6186, RFC 8314) of verified mail domains
version_added: 0.2.0
description:
  - Plans the SRV records that let self-configuring mail clients find a domain's servers, from the domain plan of
    the verified inventory, and publishes them by RFC 2136 dynamic update (signed with TSIG) and/or as a zone-file
    snippet.
  - 'Owned names per domain: C(_imaps._tcp), C(_imap._tcp), C(_pop3s._tcp), C(_pop3._tcp), C(_submissions._tcp),
    C(_submission._tcp) and C(_autodiscover._tcp). Only the SRV RRsets at these names are read and replaced; every
    other record of the zone stays as it is.'
  - 'Each server of the plan goes to the label of its protocol and security (IMAP with C(tls) to C(_imaps._tcp),
    with C(starttls) to C(_imap._tcp), and so on). The priority follows the preference order of its direction:
    the first incoming server gets 0, the next 10, across IMAP and POP3 (RFC 6186 section 3.4); the weight is 1.
    A label that no server of the domain uses gets the single record C(0 0 0 .): the service is decidedly not
    offered (RFC 2782), so clients do not try it.'
  - A server without TLS (security C(none)) is never published (no label announces a cleartext server; the
    STARTTLS labels would send clients there to fail); it is returned in RV(not_published) with a warning.
  - C(_autodiscover._tcp) holds C(0 0 443 <autodiscover_host>) when the domain's C(autodiscover_host) is set; when
    it is null, the name has no SRV records (an existing one is deleted).
  - 'Removing a domain: a domain that leaves O(domains) keeps its records (the action never touches a domain it
    was not told about). Name it in O(remove) and its owned SRV names are deleted.'
  - The update is one message per zone. It carries a prerequisite for every name it changes (the RRset read
    before), so a record changed by someone else in between makes the update fail as a whole instead of
    overwriting it (RFC 2136 section 2.4.2). A second run with the same plan sends nothing and reports
    C(changed=false).
  - This is an action plugin; it runs on the controller and needs the Python package C(dnspython) there for O(dns).
author:
  - mailops.clients contributors (@mailops)
requirements:
  - dnspython (on the controller, for O(dns))
extends_documentation_fragment:
  [action_common_attributes, action_common_attributes.flow, mailops.clients._controller_action]
attributes:
  check_mode:
    support: full
    details: The current records are read; no update is sent and the zone file is not written. RV(changes) says
      what would change.
  diff_mode:
    support: full
    details: The records of each changed name before and after (zone-file lines), and the zone file.
options:
  domains:
    description:
      - 'The domain plan, C({<domain>: {incoming, outgoing, autodiscover_host, ...}}), as the publish role builds it
        from the verified accounts. Other keys of a domain (C(username), C(display_name)) are ignored here.'
      - C(incoming) is a list of servers in preference order, each with C(protocol) (C(imap) or C(pop3)),
        C(host), C(port) and C(security) (C(tls), C(starttls), or C(none)/C(plain) for cleartext); C(outgoing)
        likewise with C(protocol=smtp).
      - C(autodiscover_host) is the host that answers Exchange Autodiscover over HTTPS, or null.
      - Internationalized domain and host names are published in their ASCII (A-label) form.
    type: dict
    required: true
  remove:
    description:
      - Domains whose owned SRV names are to be deleted (they must not be in O(domains)). With O(dns.zone) unset,
        each is its own zone. Removed domains are not written to O(zone_file).
    type: list
    elements: str
    default: []
  ttl:
    description:
      - TTL of every record, in seconds. A changed TTL is a change (the RRsets are replaced).
    type: int
    default: 3600
  zone_file:
    description:
      - A path on the controller to write the records of O(domains) to, as zone-file lines with absolute names
        (C($INCLUDE) it in the zone, or hand it to whoever runs the DNS). Written atomically and only when its
        bytes change. Its directory must exist.
    type: path
  backup:
    description:
      - Keep a copy of the O(zone_file) it replaces (C(<file>.<pid>.<date>@<time>~), as Ansible names backups).
    type: bool
    default: false
  dns:
    description:
      - Publish by RFC 2136 dynamic update. Without it nothing is sent (plan only, or O(zone_file)).
    type: dict
    suboptions:
      server:
        description:
          - The primary (master) server of the zone, an IP address or a host name. Reads and the update go there
            over TCP.
        type: str
        required: true
      port:
        description:
          - Its DNS port.
        type: int
        default: 53
      zone:
        description:
          - The zone that holds every domain of O(domains) and O(remove). Default is each domain as its own zone.
            The server must be authoritative for it.
        type: str
      timeout:
        description:
          - Seconds to wait for each answer.
        type: float
        default: 10
      tsig:
        description:
          - The TSIG key (RFC 8945) the server allows updates with. Without it the update is unsigned (a server
            that allows updates by address only).
        type: dict
        suboptions:
          name:
            description:
              - The key's name, as in the server's configuration.
            type: str
            required: true
          algorithm:
            description:
              - The key's algorithm.
            type: str
            default: hmac-sha256
            choices: [hmac-sha256, hmac-sha224, hmac-sha384, hmac-sha512, hmac-sha1]
          secret:
            description:
              - The key's secret, base64, as C(tsig-keygen), C(keymgr -t) or C(knotc) print it. Never printed.
            type: str
            required: true
seealso:
  - module: mailops.clients.mail_settings_info
    description: Reads these records back (source C(srv)) and proves the servers they name.
  - name: RFC 6186
    description: Use of SRV Records for Locating Email Submission/Access Services (the labels of section 3, the
      priorities of section 3.4).
    link: https://www.rfc-editor.org/rfc/rfc6186
  - name: RFC 8314
    description: "Cleartext Considered Obsolete: Use of TLS for Email Submission and Access (section 7.3: submissions)."
    link: https://www.rfc-editor.org/rfc/rfc8314
  - name: RFC 2136
    description: Dynamic Updates in the Domain Name System (DNS UPDATE).
    link: https://www.rfc-editor.org/rfc/rfc2136
"""

EXAMPLES = r"""
- name: Publish the SRV records of the verified domains on the primary server
  mailops.clients.mail_srv_records:
    domains: "{{ mailops_publish_domains }}"
    dns:
      server: 192.0.2.53
      zone: example.com
      tsig:
        name: mailops-update
        secret: "{{ vault_dns_update_secret }}"

- name: Only write a zone snippet for the DNS team (nothing is sent)
  mailops.clients.mail_srv_records:
    domains:
      example.com:
        incoming:
          - {protocol: imap, host: mail.example.com, port: 993, security: tls}
          - {protocol: pop3, host: mail.example.com, port: 995, security: tls}
        outgoing:
          - {protocol: smtp, host: mail.example.com, port: 465, security: tls}
        autodiscover_host: autodiscover.example.com
    zone_file: /srv/dns/example.com.mail-srv.zone

- name: Withdraw a domain that is no longer served
  mailops.clients.mail_srv_records:
    domains: "{{ mailops_publish_domains }}"
    remove: [old.example.com]
    dns:
      server: 192.0.2.53
      tsig:
        name: mailops-update
        secret: "{{ vault_dns_update_secret }}"
"""

RETURN = r"""
records:
  description:
    - The records planned for O(domains), in plan order and within a name by priority - C(domain), C(service)
      (the label, e.g. C(_imaps._tcp)), C(name) (absolute), C(ttl), C(priority), C(weight), C(port), C(target)
      (absolute; C(.) for a service that is not offered).
  returned: always
  type: list
  elements: dict
  sample:
    - {domain: example.com, service: _imaps._tcp, name: _imaps._tcp.example.com., ttl: 3600, priority: 0, weight: 1,
       port: 993, target: mail.example.com.}
removed:
  description: The domains of O(remove), in A-label form.
  returned: always
  type: list
  elements: str
not_published:
  description:
    - Servers of the plan that were not published (cleartext) - C(domain), C(direction), C(protocol), C(host),
      C(port), C(security), C(reason).
  returned: always
  type: list
  elements: dict
changes:
  description:
    - With O(dns), every owned name whose records changed (or would change, in check mode) - C(zone), C(name),
      C(action) (C(create), C(update) or C(delete)), C(before) and C(after) (zone-file lines).
  returned: with O(dns)
  type: list
  elements: dict
zone_file:
  description: With O(zone_file), C(path), C(changed) and C(backup_file) (when one was made).
  returned: with O(zone_file)
  type: dict
"""
