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
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode no message is sent and no mailbox is opened.
  diff_mode:
    support: none
  platform:
    platforms: posix
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
      security:
        description: V(tls) (implicit TLS), V(starttls) (required, never a plaintext fallback) or V(none).
        type: str
        choices: [tls, starttls, none]
        default: tls
      validate_certs:
        description: Verify the certificate chain and name.
        type: bool
        default: true
      ca_path:
        description: PEM file or hashed directory of CA certificates to trust instead of the system store.
        type: path
      server_name:
        description: Name for SNI and the certificate check; default O(smtp.host).
        type: str
      tls_min_version:
        description: Oldest TLS version accepted.
        type: str
        choices: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
        default: TLSv1.2
      timeout:
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
      oauth2_token:
        description: OAuth 2.0 bearer token (OAUTHBEARER or XOAUTH2). Never returned or logged.
        type: str
      auth_mechanism:
        description: SASL mechanism; V(auto) chooses as M(mailops.clients.smtp_server_info) does.
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
      security:
        description: V(tls) (implicit TLS), V(starttls) (required, never a plaintext fallback) or V(none).
        type: str
        choices: [tls, starttls, none]
        default: tls
      validate_certs:
        description: Verify the certificate chain and name.
        type: bool
        default: true
      ca_path:
        description: PEM file or hashed directory of CA certificates to trust instead of the system store.
        type: path
      server_name:
        description: Name for SNI and the certificate check; default O(mailbox.host).
        type: str
      tls_min_version:
        description: Oldest TLS version accepted.
        type: str
        choices: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
        default: TLSv1.2
      timeout:
        description:
          - Seconds allowed for the connection up to and including the login (one deadline for every stage), then
            for each command of the round trip.
        type: float
        default: 10
      username:
        description: Mailbox user name (required).
        type: str
      password:
        description: Mailbox password. Never returned or logged.
        type: str
      oauth2_token:
        description: OAuth 2.0 bearer token. Never returned or logged.
        type: str
      auth_mechanism:
        description: SASL mechanism; V(auto) chooses as M(mailops.clients.imap_server_info) does.
        type: str
        choices: [auto, PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER]
        default: auto
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

import email.policy  # noqa: E402
import email.utils  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from email.message import EmailMessage  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.mailops.clients.plugins.module_utils._python_floor import require_python  # noqa: E402

# Before the module_utils that need Python 3.7+: an older Python gets a clear failure, not a SyntaxError.
require_python()

from ansible_collections.mailops.clients.plugins.module_utils._connection import (  # noqa: E402
    connection_argument_spec,
    validate,
)
from ansible_collections.mailops.clients.plugins.module_utils._errors import (  # noqa: E402
    MailOpsError,
    OptionError,
    ProbeError,
)
from ansible_collections.mailops.clients.plugins.module_utils._findings import (  # noqa: E402
    failure_message,
    make_finding,
    reaches_fail_on,
    verdict,
)
from ansible_collections.mailops.clients.plugins.module_utils._probe import Probe  # noqa: E402


def build_message(from_address, to_address, token):
    """The test message (CRLF line ends) and its Message-ID."""
    domain = from_address.rpartition("@")[2] or "localhost"
    message_id = f"<mailops-roundtrip.{token}@{domain}>"
    message = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))  # no folded Message-ID
    message["From"] = from_address
    message["To"] = to_address
    message["Subject"] = f"mailops.clients round trip {token}"
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["X-Mailops-Roundtrip"] = token
    message.set_content(
        "This message tests mail delivery (mailops.clients.mail_roundtrip) and is deleted automatically.\n"
        "If you can read it, its deletion failed or the mailbox was read while the test ran.\n"
    )
    return message.as_string(), message_id


class RoundTrip:
    """Mailbox login, SMTP submission, polling and cleanup; every failure becomes a finding."""

    def __init__(self, smtp, mailbox, from_address, to_address, wait_timeout, poll_interval):
        self.smtp = smtp
        self.mailbox = mailbox
        self.from_address = from_address
        self.to_address = to_address
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.findings = []
        self.timings = {"mailbox_login": None, "send": None, "cleanup": None}
        self.reader_caps = []

    def _record(self, settings, findings):
        for finding in findings:
            entry = finding.as_dict()
            entry["endpoint"] = settings.label
            self.findings.append(entry)

    def _open(self, settings):
        """A logged-in session (probe with its open wire), or None when the leg failed."""
        probe = Probe(settings, settings.credentials)
        outcome = probe.run(keep_open=True)
        self._record(settings, outcome.findings)
        if outcome.fatal or probe.wire is None or (settings.credentials and not outcome.login["succeeded"]):
            probe.close()
            return None
        return probe

    def _close(self, probe):
        probe.close()

    def _failed(self, settings, exc):
        entry = exc.finding.as_dict()
        entry["endpoint"] = settings.label
        self.findings.append(entry)

    def run(self):
        token = uuid.uuid4().hex
        text, message_id = build_message(self.from_address, self.to_address, token)
        result = {
            "changed": False,
            "message_id": message_id,
            "delivered": False,
            "latency_ms": None,
            "deleted": False,
            "smtp_response": None,
        }
        start = time.monotonic()
        reader = self._open(self.mailbox)
        self.timings["mailbox_login"] = round((time.monotonic() - start) * 1000, 1)
        if reader is None:
            return result
        try:
            if self.mailbox.protocol == "imap":
                reader.wire.begin("deliver")
                reader.dialogue.select(reader.wire)
                # UIDPLUS (UID EXPUNGE) is usually only announced after login: ask again.
                self.reader_caps = reader.dialogue.capabilities(reader.wire)
            else:
                self._close(reader)
                reader = None
        except ProbeError as exc:
            self._failed(self.mailbox, exc)
            reader.close(logout=False)
            return result
        sent_at = self._send(text, result)
        if sent_at is None:
            if reader is not None:
                self._close(reader)
            return result
        result["changed"] = True
        found_at, handle = self._wait(reader, message_id, sent_at)
        if found_at is not None:
            result["delivered"] = True
            result["latency_ms"] = round((found_at - sent_at) * 1000, 1)
            cleanup_start = time.monotonic()
            result["deleted"] = self._cleanup(reader, handle)
            self.timings["cleanup"] = round((time.monotonic() - cleanup_start) * 1000, 1)
        else:
            self.findings.append(
                dict(
                    make_finding("delivery_timeout", wait=f"{self.wait_timeout:g}").as_dict(),
                    endpoint=self.mailbox.label,
                )
            )
        if reader is not None and reader.wire is not None:
            self._close(reader)
        return result

    def _send(self, text, result):
        start = time.monotonic()
        sender = self._open(self.smtp)
        if sender is None:
            return None
        try:
            sender.wire.begin("send")
            result["smtp_response"] = sender.dialogue.send_message(
                sender.wire, self.from_address, self.to_address, text
            )
        except ProbeError as exc:
            self._failed(self.smtp, exc)
            sender.close(logout=False)
            return None
        finally:
            self.timings["send"] = round((time.monotonic() - start) * 1000, 1)
        sent_at = time.monotonic()
        self._close(sender)
        return sent_at

    def _wait(self, reader, message_id, sent_at):
        """Poll until the message is seen or wait_timeout passes: (found_at, uid or POP3 session+number)."""
        deadline = sent_at + self.wait_timeout
        while True:
            try:
                if reader is not None:  # IMAP: one session, NOOP makes the server report new mail
                    reader.wire.begin("deliver")
                    reader.dialogue.noop(reader.wire)
                    uids = reader.dialogue.find_uids(reader.wire, message_id)
                    if uids:
                        return time.monotonic(), uids
                else:  # POP3: the maildrop is fixed at login, so every look is a new session
                    session = self._open(self.mailbox)
                    if session is None:
                        return None, None
                    session.wire.begin("deliver")
                    number = session.dialogue.find_message(session.wire, message_id)
                    if number is not None:
                        return time.monotonic(), (session, number)
                    self._close(session)
            except ProbeError as exc:
                self._failed(self.mailbox, exc)
                return None, None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, None
            time.sleep(min(self.poll_interval, remaining))

    def _cleanup(self, reader, handle):
        try:
            if reader is not None:
                reader.wire.begin("cleanup")
                expunged = reader.dialogue.delete_uids(reader.wire, handle, self.reader_caps)
                if not expunged:
                    self.findings.append(
                        dict(
                            make_finding(
                                "cleanup_failed",
                                reason="the server lacks UIDPLUS; the message is only flagged \\Deleted",
                            ).as_dict(),
                            endpoint=self.mailbox.label,
                        )
                    )
                return expunged
            session, number = handle
            session.wire.begin("cleanup")
            session.dialogue.delete(session.wire, number)
            self._close(session)  # QUIT commits the deletion (RFC 1939 UPDATE state)
            return True
        except ProbeError as exc:
            entry = make_finding("cleanup_failed", reason=exc.message).as_dict()
            entry["endpoint"] = self.mailbox.label
            self.findings.append(entry)
            return False


def _settings(params):
    """Validate both legs and the addresses; returns (smtp Settings, mailbox Settings, to_address)."""
    legs = []
    for where, protocol in (("smtp", "smtp"), ("mailbox", params["mailbox"]["protocol"])):
        try:
            legs.append(validate(params[where], protocol))
        except OptionError as exc:
            raise OptionError(f"{where}: {exc.message}") from None
    smtp, mailbox = legs
    if mailbox.credentials is None:
        raise OptionError("mailbox: username with password or oauth2_token is required to read the mailbox")
    to_address = params["to_address"] or mailbox.credentials.username
    if "@" not in to_address:
        raise OptionError(f"to_address is required when mailbox.username ({to_address!r}) is not a mail address")
    for name, value in (("from_address", params["from_address"]), ("to_address", to_address)):
        if not value.strip() or any(c in value for c in "\r\n<> "):
            raise OptionError(f"{name} must be a plain mail address, got {value!r}")
    if not 0 < params["wait_timeout"] <= 3600:
        raise OptionError(f"wait_timeout must be more than 0 and at most 3600 seconds, got {params['wait_timeout']:g}")
    if not 0 < params["poll_interval"] <= 600:
        raise OptionError(f"poll_interval must be more than 0 and at most 600 seconds, got {params['poll_interval']:g}")
    return smtp, mailbox, to_address


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
    try:
        smtp, mailbox, to_address = _settings(params)
        if module.check_mode:
            module.exit_json(
                changed=False,
                skipped=True,
                findings=[],
                msg="check mode: no test message was sent and no mailbox was read",
            )
        trip = RoundTrip(
            smtp, mailbox, params["from_address"], to_address, params["wait_timeout"], params["poll_interval"]
        )
        result = trip.run()
    except MailOpsError as exc:
        module.fail_json(msg=str(exc), findings=[])
    except Exception as exc:  # no traceback reaches the user; the type names the bug for a report
        module.fail_json(msg=f"internal error in mail_roundtrip ({exc.__class__.__name__}): {exc}", findings=[])
    else:
        result["findings"] = trip.findings
        result["timings_ms"] = trip.timings
        result["verdict"] = verdict(trip.findings)
        if not result["delivered"]:
            result["verdict"] = "error"  # not delivered is never ok, whatever finding explains it
        if reaches_fail_on(result["verdict"], params["fail_on"]):
            label = f"round trip {smtp.label} -> {mailbox.label}"
            module.fail_json(msg=failure_message(label, trip.findings, params["fail_on"]), **result)
        module.exit_json(**result)


if __name__ == "__main__":
    main()
