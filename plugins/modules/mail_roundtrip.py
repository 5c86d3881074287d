# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# No `from __future__ import annotations` here (nor annotations): this file must stay parseable by the
# Python versions below the floor, so that require_python() can report them (module_utils/_python_floor.py).

DOCUMENTATION = r"""
module: mail_roundtrip
short_description: Send a tagged test message over SMTP and wait for it in an IMAP or POP3 mailbox
version_added: 0.1.0
description:
  - The "send a test email" check, end to end. The module logs in to the mailbox first (so nothing is sent when
    the mailbox cannot be read), sends one uniquely tagged message through SMTP with the O(smtp) settings, waits
    up to O(wait_timeout) seconds for it to appear in the mailbox's INBOX (IMAP C(UID SEARCH) on the
    C(Message-ID), or POP3 C(TOP) over new sessions), deletes exactly that message, and reports the delivery
    latency.
  - Both legs use the same engine as M(mailops.clients.smtp_server_info) and M(mailops.clients.imap_server_info).
    Every stage is bounded by its O(smtp.timeout) or O(mailbox.timeout), certificates are verified, STARTTLS never
    falls back to plaintext, and their findings are returned in RV(findings).
  - The test message has the subject C(mailops.clients round trip <token>), a C(Message-ID) of
    C(<mailops-roundtrip.<token>@<from domain>>) and a C(X-Mailops-Roundtrip) header.
  - Reports RV(changed=true) when a message was sent (it is removed again). In check mode nothing is sent or
    read; the task reports RV(changed=false) and is marked skipped.
  - IMAP deletion uses C(UID EXPUNGE) (RFC 4315 UIDPLUS) so that no other message marked as deleted is expunged;
    without UIDPLUS the test message is only flagged C(\Deleted) and C(cleanup_failed) is reported.
author:
  - mailops.clients contributors (@mailops)
extends_documentation_fragment: [action_common_attributes, mailops.clients._roundtrip]
options:
  smtp:
    description:
      - Where the test message is submitted. The same options as M(mailops.clients.smtp_server_info), without
        C(accounts), C(concurrency) and C(fail_on).
      - Without O(smtp.username) the message is sent without authentication (an MX accepting mail for the
        recipient's domain).
    type: dict
    required: true
    suboptions:
      host:
        description: SMTP server host name or address.
        type: str
        required: true
      port:
        description: Port; default from O(smtp.security) (V(465) for V(tls), V(587) for V(starttls), V(25) for V(none)).
        type: int
      # &name: the mailbox leg has the same option (*name)
      security: &security
        description: V(tls) (implicit TLS), V(starttls) (required, never a plaintext fallback) or V(none).
        type: str
        choices: [tls, starttls, none]
        default: tls
      validate_certs: &validate_certs
        description: Verify the certificate chain and name.
        type: bool
        default: true
      ca_path: &ca_path
        description: PEM file or hashed directory of CA certificates to trust instead of the system store.
        type: path
      server_name:
        description: Name for SNI and the certificate check; default O(smtp.host).
        type: str
      tls_min_version: &tls_min_version
        description: Oldest TLS version accepted.
        type: str
        choices: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
        default: TLSv1.2
      timeout: &timeout
        description:
          - Seconds allowed for the connection up to and including the login (one deadline for every stage), then
            for each command of the round trip.
        type: float
        default: 10
      username:
        description: SMTP AUTH user name.
        type: str
      password:
        description: SMTP AUTH password. Never returned or logged.
        type: str
      oauth2_token: &oauth2_token
        description: OAuth 2.0 bearer token (OAUTHBEARER or XOAUTH2). Never returned or logged.
        type: str
      auth_mechanism: &auth_mechanism
        description: SASL mechanism; V(auto) chooses as O(mailops.clients.imap_server_info#module:auth_mechanism) says.
        type: str
        choices: [auto, PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER]
        default: auto
      helo_name:
        description: Name sent with C(EHLO); default the host name if it has a dot, else an address literal.
        type: str
  mailbox:
    description:
      - The mailbox the message must arrive in, and the credentials to read it (required).
    type: dict
    required: true
    suboptions:
      protocol:
        description: Read the mailbox over IMAP (INBOX) or POP3.
        type: str
        choices: [imap, pop3]
        default: imap
      host:
        description: IMAP or POP3 server host name or address.
        type: str
        required: true
      port:
        description: Port; default from O(mailbox.protocol) and O(mailbox.security) (IMAP 993/143, POP3 995/110).
        type: int
      security: *security
      validate_certs: *validate_certs
      ca_path: *ca_path
      server_name:
        description: Name for SNI and the certificate check; default O(mailbox.host).
        type: str
      tls_min_version: *tls_min_version
      timeout: *timeout
      username:
        description: Mailbox user name (required).
        type: str
      password:
        description: Mailbox password. Never returned or logged.
        type: str
      oauth2_token: *oauth2_token
      auth_mechanism: *auth_mechanism
  from_address:
    description: Envelope sender and C(From) header of the test message.
    type: str
    required: true
  to_address:
    description: Envelope recipient and C(To) header; default O(mailbox.username) when that is a mail address.
    type: str
  wait_timeout:
    description: Seconds to wait, after the SMTP server accepted the message, for it to appear in the mailbox.
    type: float
    default: 60
  poll_interval:
    description: Seconds between two looks into the mailbox.
    type: float
    default: 2
  fail_on:
    description:
      - Fail the task when the verdict reaches this level. Delivery failures are errors; certificate warnings of
        either leg are warnings.
    type: str
    choices: [error, warning, never]
    default: error
seealso:
  - module: mailops.clients.smtp_server_info
  - module: mailops.clients.imap_server_info
  - module: mailops.clients.pop3_server_info
  - module: mailops.clients.mail_roundtrips
    description: The same round trip for many accounts at once, with bounded concurrency and a time budget.
"""

EXAMPLES = r"""
- name: Send through submission, read back over IMAPS
  mailops.clients.mail_roundtrip:
    smtp:
      host: smtp.example.com
      security: starttls
      username: alice@example.com
      password: "{{ vault_alice_password }}"
    mailbox:
      host: imap.example.com
      username: alice@example.com
      password: "{{ vault_alice_password }}"
    from_address: alice@example.com
    wait_timeout: 120
  register: roundtrip

- name: Report the latency
  ansible.builtin.debug:
    msg: "delivered in {{ roundtrip.latency_ms }} ms"

- name: Deliver straight to the MX, read back over POP3S
  mailops.clients.mail_roundtrip:
    smtp:
      host: mx.example.com
      security: starttls
      port: 25
    mailbox:
      protocol: pop3
      host: pop.example.com
      username: bob@example.com
      password: "{{ vault_bob_password }}"
    from_address: monitoring@example.net
    to_address: bob@example.com
"""

RETURN = r"""
changed:
  description: V(true) when a test message was sent (and removed again); V(false) in check mode.
  returned: always
  type: bool
verdict:
  description: V(ok), V(warning) or V(error), the worst severity among RV(findings).
  returned: when not in check mode
  type: str
message_id:
  description: The C(Message-ID) header of the test message, angle brackets included.
  returned: when not in check mode
  type: str
  sample: <mailops-roundtrip.3f1c2a9e6b7d4e0f@example.com>
delivered:
  description: Whether the message appeared in the mailbox within O(wait_timeout).
  returned: when not in check mode
  type: bool
latency_ms:
  description: Milliseconds from the SMTP server's acceptance of the message to its first sight in the mailbox.
  returned: when not in check mode
  type: float
deleted:
  description: Whether the test message was removed from the mailbox.
  returned: when not in check mode
  type: bool
smtp_response:
  description: The SMTP server's final reply text after the message data (often the queue id).
  returned: when not in check mode
  type: str
  sample: 2.0.0 Ok queued as 4Xk9V2
findings:
  description:
    - Findings of both legs and of the delivery, as in M(mailops.clients.smtp_server_info), each with an extra
      C(endpoint) key (C(smtp://host:port/security), C(imap://...), C(pop3://...)).
    - Delivery codes are C(message_rejected), C(delivery_timeout) and C(cleanup_failed).
  returned: always
  type: list
  elements: dict
timings_ms:
  description: Milliseconds for C(mailbox_login), C(send) and C(cleanup).
  returned: when not in check mode
  type: dict
msg:
  description: In check mode, why nothing happened.
  returned: in check mode
  type: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.mailops.clients.plugins.module_utils._python_floor import require_python  # noqa: E402

# Before the module_utils that need Python 3.7+: an older Python gets a clear failure, not a SyntaxError.
require_python()

from ansible_collections.mailops.clients.plugins.module_utils._connection import connection_argument_spec, validate  # noqa: E402
from ansible_collections.mailops.clients.plugins.module_utils._errors import OptionError  # noqa: E402
from ansible_collections.mailops.clients.plugins.module_utils._findings import failure_message, reaches_fail_on  # noqa: E402
from ansible_collections.mailops.clients.plugins.module_utils._module_main import fail_json_on_exception  # noqa: E402
from ansible_collections.mailops.clients.plugins.module_utils._roundtrip import CHECK_MODE_MESSAGE, RoundTrip  # noqa: E402


def _round_trip(params):
    """Validate both legs and the round trip's options (OptionError naming the option); a RoundTrip."""
    legs = []
    for where, protocol in (("smtp", "smtp"), ("mailbox", params["mailbox"]["protocol"])):
        try:
            legs.append(validate(params[where], protocol))
        except OptionError as exc:
            raise OptionError(f"{where}: {exc.message}") from None
    smtp, mailbox = legs
    return RoundTrip(
        smtp, mailbox, params["from_address"], params["to_address"], params["wait_timeout"], params["poll_interval"]
    )


def main():
    module = AnsibleModule(
        argument_spec={
            "smtp": {"type": "dict", "required": True, "options": connection_argument_spec("smtp", checks=False)},
            "mailbox": {"type": "dict", "required": True, "options": connection_argument_spec("mailbox", checks=False)},
            "from_address": {"type": "str", "required": True},
            "to_address": {"type": "str"},
            "wait_timeout": {"type": "float", "default": 60.0},
            "poll_interval": {"type": "float", "default": 2.0},
            "fail_on": {"type": "str", "default": "error", "choices": ["error", "warning", "never"]},
        },
        supports_check_mode=True,
    )
    params = module.params
    with fail_json_on_exception(module, "mail_roundtrip", findings=[]):
        trip = _round_trip(params)
        if module.check_mode:
            module.exit_json(changed=False, skipped=True, findings=[], msg=CHECK_MODE_MESSAGE)
        outcome = trip.run()
    result = outcome.as_dict()
    if reaches_fail_on(result["verdict"], params["fail_on"]):
        module.fail_json(msg=failure_message(trip.label, outcome.findings, params["fail_on"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
