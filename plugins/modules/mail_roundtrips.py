# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# No `from __future__ import annotations` here (nor annotations): this file must stay parseable by the
# Python versions below the floor, so that require_python() can report them (module_utils/_python_floor.py).

DOCUMENTATION = r"""
module: mail_roundtrips
short_description: Run the round trip of many accounts at once, with bounded concurrency and a total time budget
version_added: 0.1.0
description:
  - The batch form of M(mailops.clients.mail_roundtrip), used by the P(mailops.clients.verify#role) role when
    round trips are asked for. Each entry of O(trips) is one account's round trip (a test message from the account to
    itself through its outgoing server, looked for in its incoming mailbox and deleted), with the same engine,
    message, findings and deletion as M(mailops.clients.mail_roundtrip).
  - At most O(concurrency) round trips run at a time. A round trip that has not started when O(budget) seconds have
    passed does not run (finding C(roundtrip_budget_exhausted)); each waits for its message at most
    O(wait_timeout) seconds and never past the budget.
  - A message that did not arrive in its own mailbox is looked for in the mailboxes of the other round trips of the
    call; found there, it is deleted and reported as C(roundtrip_delivered_elsewhere) (alias or virtual-map
    misrouting) instead of C(delivery_timeout).
  - A delivery slower than O(latency_warn) seconds adds the warning C(roundtrip_latency_high).
  - In check mode nothing is sent and no mailbox is opened; every round trip is reported with status C(not_run).
author:
  - mailops.clients contributors (@mailops)
extends_documentation_fragment: [action_common_attributes, mailops.clients._roundtrip]
options:
  trips:
    description: The round trips, one per account.
    type: list
    elements: dict
    required: true
    suboptions:
      key:
        description: A name of the round trip, unique in O(trips); the results are keyed by it.
        type: str
        required: true
      smtp:
        description: The outgoing leg, the O(mailops.clients.mail_roundtrip#module:smtp) options.
        type: dict
        required: true
        suboptions:
          # &name: the mailbox leg has the same option (*name)
          allow_insecure: &allow_insecure
            default: false
            description:
            - Accept V(none) security with a password login as a warning instead of an error.
            - As O(mailops.clients.imap_server_info#module:allow_insecure).
            type: bool
          auth_mechanism: &auth_mechanism
            choices:
            - auto
            - PLAIN
            - LOGIN
            - CRAM-MD5
            - XOAUTH2
            - OAUTHBEARER
            default: auto
            description: SASL mechanism; V(auto) chooses as O(mailops.clients.imap_server_info#module:auth_mechanism)
              says.
            type: str
          ca_path: &ca_path
            description: PEM file or hashed directory of CA certificates to trust instead of the system
              store.
            type: path
          cert_expiry_warn_days: &cert_expiry_warn_days
            default: 30
            description:
            - Warn when the certificate expires within this many days.
            type: int
          helo_name:
            description: Name sent with C(EHLO); default the host name if it has a dot, else an address
              literal.
            type: str
          host:
            description: SMTP server host name or address.
            required: true
            type: str
          oauth2_token: &oauth2_token
            description: OAuth 2.0 bearer token (OAUTHBEARER or XOAUTH2). Never returned or logged.
            type: str
          password:
            description: SMTP AUTH password. Never returned or logged.
            type: str
          port:
            description: Port; default from O(trips[].smtp.security) (V(465) for V(tls), V(587) for V(starttls),
              V(25) for V(none)).
            type: int
          security: &security
            choices:
            - tls
            - starttls
            - none
            default: tls
            description: V(tls) (implicit TLS), V(starttls) (required, never a plaintext fallback) or
              V(none).
            type: str
          server_name:
            description: Name for SNI and the certificate check; default O(trips[].smtp.host).
            type: str
          timeout: &timeout
            default: 10
            description:
            - Seconds allowed for the connection up to and including the login (one deadline for every
              stage), then for each command of the round trip.
            type: float
          tls_min_version: &tls_min_version
            choices:
            - TLSv1
            - TLSv1.1
            - TLSv1.2
            - TLSv1.3
            default: TLSv1.2
            description: Oldest TLS version accepted.
            type: str
          username:
            description: SMTP AUTH user name.
            type: str
          validate_certs: &validate_certs
            default: true
            description: Verify the certificate chain and name.
            type: bool
      mailbox:
        description: The incoming leg, the O(mailops.clients.mail_roundtrip#module:mailbox) options.
        type: dict
        required: true
        suboptions:
          allow_insecure: *allow_insecure
          auth_mechanism: *auth_mechanism
          ca_path: *ca_path
          cert_expiry_warn_days: *cert_expiry_warn_days
          host:
            description: IMAP or POP3 server host name or address.
            required: true
            type: str
          oauth2_token: *oauth2_token
          password:
            description: Mailbox password. Never returned or logged.
            type: str
          port:
            description: Port; default from O(trips[].mailbox.protocol) and O(trips[].mailbox.security) (IMAP 993/143,
              POP3 995/110).
            type: int
          protocol:
            choices:
            - imap
            - pop3
            default: imap
            description: Read the mailbox over IMAP (INBOX) or POP3.
            type: str
          security: *security
          server_name:
            description: Name for SNI and the certificate check; default O(trips[].mailbox.host).
            type: str
          timeout: *timeout
          tls_min_version: *tls_min_version
          username:
            description: Mailbox user name (required).
            type: str
          validate_certs: *validate_certs
      from_address:
        description: Envelope sender and C(From) header.
        type: str
        required: true
      to_address:
        description: Envelope recipient and C(To) header; default O(trips[].from_address).
        type: str
  concurrency:
    description: Round trips running at the same time (1 to 64).
    type: int
    default: 4
  budget:
    description: Seconds for all round trips together.
    type: float
    default: 300
  wait_timeout:
    description: Seconds each round trip waits for its message after the SMTP server accepted it.
    type: float
    default: 60
  poll_interval:
    description: Seconds between two looks into a mailbox.
    type: float
    default: 1
  latency_warn:
    description: Delivery latency in seconds above which a round trip gets a warning; V(0) for none.
    type: float
    default: 30
seealso:
  - module: mailops.clients.mail_roundtrip
"""

EXAMPLES = r"""
- name: Round trips of two accounts, at most 2 at a time, 120 s in all
  mailops.clients.mail_roundtrips:
    trips:
      - key: alice
        smtp: {host: smtp.example.com, security: starttls, username: alice@example.com, password: "{{ pw_alice }}"}
        mailbox: {host: imap.example.com, username: alice@example.com, password: "{{ pw_alice }}"}
        from_address: alice@example.com
      - key: bob
        smtp: {host: smtp.example.com, security: starttls, username: bob@example.com, password: "{{ pw_bob }}"}
        mailbox: {protocol: pop3, host: pop.example.com, username: bob@example.com, password: "{{ pw_bob }}"}
        from_address: bob@example.com
    concurrency: 2
    budget: 120
  register: trips
  no_log: true
"""

RETURN = r"""
changed:
  description: V(true) when at least one test message was sent (each is removed again).
  returned: always
  type: bool
roundtrips:
  description:
    - By O(trips[].key), the outcome of each round trip, with the keys of M(mailops.clients.mail_roundtrip)'s result
      (C(message_id), C(delivered), C(latency_ms), C(deleted), C(smtp_response), C(findings), C(timings_ms),
      C(verdict)) and C(status) (V(delivered), V(delivered_elsewhere), V(not_delivered), V(not_sent), V(not_run)).
    - C(delivered_elsewhere) names the mailbox (C(endpoint), C(username)) a misrouted message was found in.
  returned: always
  type: dict
msg:
  description: In check mode, why nothing happened (the same text as in each RV(roundtrips) entry).
  returned: in check mode
  type: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.mailops.clients.plugins.module_utils._python_floor import require_python  # noqa: E402

# Before the module_utils that need Python 3.7+: an older Python gets a clear failure, not a SyntaxError.
require_python()

from ansible_collections.mailops.clients.plugins.module_utils._connection import connection_argument_spec, validate  # noqa: E402
from ansible_collections.mailops.clients.plugins.module_utils._errors import OptionError  # noqa: E402
from ansible_collections.mailops.clients.plugins.module_utils._module_main import fail_json_on_exception  # noqa: E402
from ansible_collections.mailops.clients.plugins.module_utils._roundtrip import CHECK_MODE_MESSAGE, RoundTrip  # noqa: E402
from ansible_collections.mailops.clients.plugins.module_utils._roundtrips import Batch  # noqa: E402


def _leg_spec(protocol):
    spec = connection_argument_spec(protocol, checks=True)
    for name in ("accounts", "concurrency", "fail_on"):
        spec.pop(name, None)
    return spec


def _batch(params):
    """Validate every round trip (OptionError naming the trip and the option); a Batch."""
    trips, keys = [], set()
    for index, entry in enumerate(params["trips"]):
        where = f"trips[{index}] ({entry['key']})"
        if entry["key"] in keys:
            raise OptionError(f"{where}: key {entry['key']!r} is listed twice")
        keys.add(entry["key"])
        try:
            smtp = validate(entry["smtp"], "smtp")
            mailbox = validate(entry["mailbox"], entry["mailbox"]["protocol"])
            trip = RoundTrip(
                smtp,
                mailbox,
                entry["from_address"],
                entry["to_address"] or entry["from_address"],
                params["wait_timeout"],
                params["poll_interval"],
            )
        except OptionError as exc:
            raise OptionError(f"{where}: {exc.message}") from None
        trips.append((entry["key"], trip))
    if not 0 < params["budget"] <= 86400:
        raise OptionError(f"budget must be more than 0 and at most 86400 seconds, got {params['budget']:g}")
    return Batch(trips, params["concurrency"], params["budget"], params["latency_warn"])


def main():
    module = AnsibleModule(
        argument_spec={
            "trips": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "key": {"type": "str", "required": True, "no_log": False},  # a name, not a secret
                    "smtp": {"type": "dict", "required": True, "options": _leg_spec("smtp")},
                    "mailbox": {"type": "dict", "required": True, "options": _leg_spec("mailbox")},
                    "from_address": {"type": "str", "required": True},
                    "to_address": {"type": "str"},
                },
            },
            "concurrency": {"type": "int", "default": 4},
            "budget": {"type": "float", "default": 300.0},
            "wait_timeout": {"type": "float", "default": 60.0},
            "poll_interval": {"type": "float", "default": 1.0},
            "latency_warn": {"type": "float", "default": 30.0},
        },
        supports_check_mode=True,
    )
    with fail_json_on_exception(module, "mail_roundtrips", roundtrips={}):
        batch = _batch(module.params)
        if module.check_mode:
            results = {key: {"status": "not_run", "findings": [], "msg": CHECK_MODE_MESSAGE} for key, _t in batch.trips}
            module.exit_json(changed=False, roundtrips=results, msg=CHECK_MODE_MESSAGE)
        results = batch.run()
    module.exit_json(changed=any(r["sent"] for r in results.values()), roundtrips=results)


if __name__ == "__main__":
    main()
