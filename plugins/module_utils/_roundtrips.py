# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Many round trips at once: bounded concurrency, one total time budget, and a look for misrouted messages.

Each account's round trip is a ``_roundtrip.RoundTrip`` of its own (instances share no state).  This module
adds what only a batch can do:

* at most ``concurrency`` round trips run at a time; one that has not started when ``budget`` seconds have
  passed does not run (``roundtrip_budget_exhausted``), and each waits for its message at most until the
  budget ends;
* a message that did not arrive in its own mailbox is looked for in the mailboxes of the other round trips
  of the batch: found there, it is removed and reported as ``roundtrip_delivered_elsewhere`` (alias or
  virtual-map misrouting) instead of ``delivery_timeout``;
* a delivery slower than ``latency_warn`` seconds is a ``roundtrip_latency_high`` warning.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mailops.clients.plugins.module_utils._errors import ProbeError
from ansible_collections.mailops.clients.plugins.module_utils._findings import make_finding
from ansible_collections.mailops.clients.plugins.module_utils._probe import open_session

# the least waiting time worth starting a round trip for
_MIN_WAIT = 1.0


def status(outcome):
    """One word for a round trip's outcome (the ``status`` of the verify role's reports)."""
    if outcome.get("not_run"):
        return "not_run"
    if outcome.get("delivered_elsewhere"):
        return "delivered_elsewhere"
    if outcome["delivered"]:
        return "delivered"
    return "not_delivered" if outcome["sent"] else "not_sent"


class Batch:
    """``trips``: ``(key, RoundTrip)`` pairs (keys unique); ``run()`` returns ``{key: outcome dict}``.

    An outcome is ``RoundTripResult.as_dict()`` without ``changed``, plus ``status`` and, for a message
    found in another mailbox, ``delivered_elsewhere`` (that mailbox's endpoint and user name).
    """

    def __init__(self, trips, concurrency=4, budget=300.0, latency_warn=0.0):
        self.trips = list(trips)
        self.concurrency = max(1, min(int(concurrency), 64))
        self.budget = float(budget)
        self.latency_warn = float(latency_warn or 0)

    def run(self):
        deadline = time.monotonic() + self.budget
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [(key, pool.submit(self._one, trip, deadline)) for key, trip in self.trips]
            outcomes = {key: future.result() for key, future in futures}
        self._look_elsewhere(outcomes)
        for outcome in outcomes.values():
            outcome["status"] = status(outcome)
        return outcomes

    def _one(self, trip, deadline):
        remaining = deadline - time.monotonic()
        if remaining < _MIN_WAIT:
            finding = make_finding("roundtrip_budget_exhausted", budget=f"{self.budget:g}")
            return {
                "not_run": True,
                "sent": False,
                "delivered": False,
                "deleted": False,
                "latency_ms": None,
                "message_id": None,
                "smtp_response": None,
                "timings_ms": {},
                "findings": [dict(finding.as_dict(), endpoint=trip.mailbox.label)],
                "verdict": "error",
            }
        trip.wait_timeout = min(trip.wait_timeout, remaining)
        result = trip.run()
        if result.delivered and self.latency_warn and result.latency_ms > self.latency_warn * 1000:
            finding = make_finding(
                "roundtrip_latency_high", latency=f"{result.latency_ms / 1000:.1f}", threshold=f"{self.latency_warn:g}"
            )
            result.findings.append(dict(finding.as_dict(), endpoint=trip.mailbox.label))
        outcome = result.as_dict()
        outcome["sent"] = outcome.pop("changed")  # the module's "changed" is "a message was sent"
        outcome["trip"] = trip
        return outcome

    def _look_elsewhere(self, outcomes):
        """Look for the messages that were sent but not delivered in the batch's other mailboxes (one session per
        mailbox, after every round trip ended); remove each one found and report where it was."""
        missing = {key: o for key, o in outcomes.items() if o["sent"] and not o["delivered"]}
        for outcome in outcomes.values():
            trip = outcome.pop("trip", None)
            outcome["_mailbox"] = trip.mailbox if trip is not None else None
        if not missing:
            self._forget(outcomes)
            return
        seen = set()
        for key, outcome in outcomes.items():
            mailbox = outcome["_mailbox"]
            if mailbox is None or not outcome["sent"]:  # nothing is sent unless the mailbox could be read
                continue
            identity = (mailbox.label, mailbox.credentials.username)
            if identity in seen:
                continue
            seen.add(identity)
            wanted = {k: o for k, o in missing.items() if k != key and "delivered_elsewhere" not in o}
            if wanted:
                self._search(mailbox, wanted)
        self._forget(outcomes)

    @staticmethod
    def _forget(outcomes):
        for outcome in outcomes.values():
            outcome.pop("_mailbox", None)

    def _search(self, mailbox, wanted):
        session, _findings = open_session(mailbox)
        if session is None:
            return
        try:
            session.open_mailbox()
            for outcome in wanted.values():
                found = session.find_message(outcome["message_id"])
                if found is None:
                    continue
                reason = session.delete_message(found)
                recipient = outcome["_mailbox"].credentials.username
                finding = make_finding(
                    "roundtrip_delivered_elsewhere",
                    recipient=recipient,
                    found_user=mailbox.credentials.username,
                    found_at=mailbox.label,
                    deleted="yes" if reason is None else f"no ({reason})",
                )
                own = outcome["_mailbox"].label
                outcome["findings"] = [f for f in outcome["findings"] if f.get("code") != "delivery_timeout"]
                outcome["findings"].append(dict(finding.as_dict(), endpoint=own))
                outcome["delivered_elsewhere"] = {"endpoint": mailbox.label, "username": mailbox.credentials.username}
                outcome["deleted"] = reason is None
        except ProbeError:
            session.close(logout=False)
            return
        session.close()
