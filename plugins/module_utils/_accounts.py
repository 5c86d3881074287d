# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Credential sweep: check many accounts against one endpoint with bounded concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mailops.clients.plugins.module_utils._findings import make_finding, verdict

# Stages whose failure makes every account check pointless (nothing to log in to).
BLOCKING_STAGES = ("connect", "banner", "starttls", "tls")


def account_findings(findings):
    """What belongs to one account: its auth-stage findings and any error of its own connection.

    Endpoint-wide warnings (an expiring certificate, plaintext auth before STARTTLS) are reported once
    at the top level, not repeated per account.
    """
    return [f for f in findings if f.stage == "auth" or f.severity == "error"]


def _not_checked(credentials, codes):
    finding = make_finding("account_not_checked", codes=", ".join(codes))
    return {
        "username": credentials.username,
        "verdict": "error",
        "findings": [finding.as_dict()],
        "login": {"attempted": False, "succeeded": False, "mechanism": None, "username": credentials.username},
        "timings_ms": None,
    }


def sweep(settings, endpoint_outcome, probe_one):
    """Run ``probe_one(credentials) -> Outcome`` for every account, at most ``concurrency`` at a time.

    Results keep the order of ``settings.accounts``.  When the endpoint probe already failed before
    authentication, no account is tried (each gets ``account_not_checked``).
    """
    blocking = sorted(
        {f.code for f in endpoint_outcome.findings if f.severity == "error" and f.stage in BLOCKING_STAGES}
    )
    if blocking:
        return [_not_checked(credentials, blocking) for credentials in settings.accounts]

    def check(credentials):
        outcome = probe_one(credentials)
        own = account_findings(outcome.findings)
        return {
            "username": credentials.username,
            "verdict": verdict(own),
            "findings": [f.as_dict() for f in own],
            "login": dict(outcome.login),
            "timings_ms": outcome.timings_ms(),
        }

    workers = max(1, min(settings.concurrency, len(settings.accounts)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mailops-account") as pool:
        return list(pool.map(check, settings.accounts))
