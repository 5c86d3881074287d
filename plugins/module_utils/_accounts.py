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


def account_result(username, findings, login):
    """One entry of the ``accounts`` return value: what a user acts on, nothing repeated.

    Kept small on purpose: Ansible's ``exit_json`` masks every no_log value (each account's secret) in
    every string and number of the result, so its cost is (scalars in the result) x (accounts).
    Per-stage timings and the user name inside ``login`` are therefore not repeated per account.
    """
    return {
        "username": username,
        "verdict": verdict(findings),
        "findings": [f.as_dict() for f in findings],
        "login": {"attempted": login["attempted"], "succeeded": login["succeeded"], "mechanism": login["mechanism"]},
    }


def _not_checked(credentials, codes):
    finding = make_finding("account_not_checked", codes=", ".join(codes))
    return account_result(credentials.username, [finding], {"attempted": False, "succeeded": False, "mechanism": None})


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
        return account_result(credentials.username, account_findings(outcome.findings), outcome.login)

    workers = max(1, min(settings.concurrency, len(settings.accounts)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mailops-account") as pool:
        return list(pool.map(check, settings.accounts))
