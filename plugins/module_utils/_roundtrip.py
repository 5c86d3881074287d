# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The round trip: send a tagged test message over SMTP, wait for it in an IMAP or POP3 mailbox, delete it.

Built on the engine's public surface only (``_probe.open_session`` and its ``Session``): every leg is
a probe of its endpoint with the same stages, deadlines and findings as the *_server_info modules,
and the mailbox commands are the dialogue's own.  One ``RoundTrip`` per account::

    trip = RoundTrip(smtp_settings, mailbox_settings, "alice@example.test", wait_timeout=60)
    result = trip.run()   # RoundTripResult: delivered, latency_ms, deleted, findings, verdict, ...

``RoundTrip(...)`` checks its arguments (``OptionError``, before any connection); ``run()`` never
raises for a server's behaviour: every failure is a finding with the ``endpoint`` it concerns.
"""

from __future__ import annotations

import email.policy
import email.utils
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage

from ansible_collections.mailops.clients.plugins.module_utils._errors import OptionError, ProbeError
from ansible_collections.mailops.clients.plugins.module_utils._findings import make_finding, verdict
from ansible_collections.mailops.clients.plugins.module_utils._probe import open_session


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


def _ms_since(start):
    return round((time.monotonic() - start) * 1000, 1)


@dataclass
class RoundTripResult:
    """What one round trip did and found; ``as_dict()`` is the ``mail_roundtrip`` module's result."""

    message_id: str
    sent: bool = False  # the SMTP server accepted the message (it was removed again when ``deleted``)
    delivered: bool = False
    latency_ms: float = None  # from the SMTP server's acceptance to the first sight in the mailbox
    deleted: bool = False
    smtp_response: str = None
    findings: list = field(default_factory=list)  # finding dicts, each with the ``endpoint`` it concerns
    timings_ms: dict = field(default_factory=lambda: {"mailbox_login": None, "send": None, "cleanup": None})

    @property
    def verdict(self):
        """The worst severity of the findings; a message that was not delivered is an error, whatever explains it."""
        return verdict(self.findings) if self.delivered else "error"

    def as_dict(self):
        return {
            "changed": self.sent,
            "message_id": self.message_id,
            "delivered": self.delivered,
            "latency_ms": self.latency_ms,
            "deleted": self.deleted,
            "smtp_response": self.smtp_response,
            "findings": self.findings,
            "timings_ms": self.timings_ms,
            "verdict": self.verdict,
        }


class RoundTrip:
    """Mailbox login, SMTP submission, polling and cleanup for one account.

    ``smtp`` and ``mailbox`` are ``_connection.Settings`` (``validate(..., "smtp")`` and ``validate(...,
    "imap" or "pop3")``); the mailbox needs credentials.  ``to_address`` defaults to the mailbox's user
    name when that is a mail address.  ``wait_timeout``: seconds after the SMTP server accepted the
    message; ``poll_interval``: seconds between two looks.  Each leg's connection is bounded by its own
    ``timeout`` up to the login, then by ``timeout`` per command.
    """

    def __init__(self, smtp, mailbox, from_address, to_address=None, wait_timeout=60.0, poll_interval=2.0):
        if mailbox.credentials is None:
            raise OptionError("mailbox: username with password or oauth2_token is required to read the mailbox")
        to_address = to_address or mailbox.credentials.username
        if "@" not in to_address:
            raise OptionError(f"to_address is required when mailbox.username ({to_address!r}) is not a mail address")
        for name, value in (("from_address", from_address), ("to_address", to_address)):
            if not value.strip() or any(c in value for c in "\r\n<> "):
                raise OptionError(f"{name} must be a plain mail address, got {value!r}")
        if not 0 < wait_timeout <= 3600:
            raise OptionError(f"wait_timeout must be more than 0 and at most 3600 seconds, got {wait_timeout:g}")
        if not 0 < poll_interval <= 600:
            raise OptionError(f"poll_interval must be more than 0 and at most 600 seconds, got {poll_interval:g}")
        self.smtp = smtp
        self.mailbox = mailbox
        self.from_address = from_address
        self.to_address = to_address
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self._result = None

    @property
    def label(self):
        """How messages name this round trip: ``round trip smtp://... -> imap://...``."""
        return f"round trip {self.smtp.label} -> {self.mailbox.label}"

    def run(self):
        """Log in to the mailbox, send, wait, delete; a ``RoundTripResult`` (nothing is sent when the mailbox
        cannot be read)."""
        text, message_id = build_message(self.from_address, self.to_address, uuid.uuid4().hex)
        result = self._result = RoundTripResult(message_id=message_id)
        start = time.monotonic()
        reader = self._open(self.mailbox)
        result.timings_ms["mailbox_login"] = _ms_since(start)
        if reader is None:
            return result
        try:
            reader.open_mailbox()
        except ProbeError as exc:
            self._failed(self.mailbox, exc.finding)
            reader.close(logout=False)
            return result
        if not reader.sees_new_mail:
            reader.close()  # the mailbox can be read; each look will be a session of its own
            reader = None
        sent_at = self._send(text)
        if sent_at is None:
            if reader is not None:
                reader.close()
            return result
        result.sent = True
        found_at, session, found = self._wait(reader, message_id, sent_at)
        if found_at is None:
            self._failed(self.mailbox, make_finding("delivery_timeout", wait=f"{self.wait_timeout:g}"))
            if reader is not None:
                reader.close()
            return result
        result.delivered = True
        result.latency_ms = round((found_at - sent_at) * 1000, 1)
        cleanup_start = time.monotonic()
        result.deleted = self._cleanup(session, found)
        result.timings_ms["cleanup"] = _ms_since(cleanup_start)
        return result

    def _failed(self, settings, finding):
        self._result.findings.append(dict(finding.as_dict(), endpoint=settings.label))

    def _open(self, settings):
        """A logged-in ``Session``, or None when the leg failed (its findings are recorded either way)."""
        session, findings = open_session(settings)
        for finding in findings:
            self._failed(settings, finding)
        return session

    def _send(self, text):
        """Submit the message; when the SMTP server accepted it (else None)."""
        start = time.monotonic()
        sender = self._open(self.smtp)
        if sender is None:
            return None
        try:
            self._result.smtp_response = sender.send_message(self.from_address, self.to_address, text)
        except ProbeError as exc:
            self._failed(self.smtp, exc.finding)
            sender.close(logout=False)
            return None
        finally:
            self._result.timings_ms["send"] = _ms_since(start)
        sent_at = time.monotonic()
        sender.close()
        return sent_at

    def _wait(self, reader, message_id, sent_at):
        """Look until the message is seen or ``wait_timeout`` passes: (found_at, session, what it found), or
        (None, None, None).  ``reader`` is the open session of a mailbox that sees new mail, else None."""
        deadline = sent_at + self.wait_timeout
        while True:
            session = reader or self._open(self.mailbox)
            if session is None:
                return None, None, None
            try:
                found = session.find_message(message_id)
            except ProbeError as exc:
                self._failed(self.mailbox, exc.finding)
                session.close(logout=False)
                return None, None, None
            if found is not None:
                return time.monotonic(), session, found
            if session is not reader:
                session.close()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, None, None
            time.sleep(min(self.poll_interval, remaining))

    def _cleanup(self, session, found):
        """Delete the test message and end the session (a POP3 deletion happens at QUIT); True when it is gone."""
        try:
            reason = session.delete_message(found)
        except ProbeError as exc:
            session.close(logout=False)
            reason = exc.message
        else:
            session.close()
        if reason is None:
            return True
        self._failed(self.mailbox, make_finding("cleanup_failed", reason=reason))
        return False
