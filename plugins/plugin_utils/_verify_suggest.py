# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
""" "Did you mean": verified settings for endpoints that failed on their host, port, protocol or TLS mode.

Pure functions over the merge of ``_verified.merge`` and the results of ``mail_settings_info`` (one address per
domain). The verify role asks which addresses to discover (``suggest_targets``), runs discovery with the
domain's own sources only (``_discovery.OWN_SOURCES``: never a third-party ISPDB), and hands the results to
``apply_suggestions``, which puts each suggestion into the failing endpoint's findings (``suggestion``) on a copy
of the merge. The merge's cache document is never touched: a suggestion is not a probe result.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence

from ansible_collections.mailops.clients.plugins.plugin_utils._discovery import OWN_SOURCES, suggestion

# Findings that say the inventory names the wrong host, port, protocol or TLS mode: settings discovery can
# correct. Certificate chain, expiry, login and server-side faults are not among them (other settings would not
# help there; cert_hostname_mismatch is, since another host name may be the one the certificate covers).
SUGGEST_CODES = frozenset(
    {
        "dns_failure",
        "connection_refused",
        "connect_timeout",
        "connect_failed",
        "banner_timeout",
        "tls_on_plaintext_port",
        "plaintext_on_tls_port",
        "wrong_protocol",
        "starttls_not_offered",
        "tls_handshake_failed",
        "cert_hostname_mismatch",
    }
)


def _suggestable(finding) -> bool:
    return isinstance(finding, Mapping) and finding.get("severity") == "error" and finding.get("code") in SUGGEST_CODES


def _domain(email) -> str:
    return str(email).rsplit("@", 1)[-1].lower().rstrip(".")


def _failing(verified: Mapping) -> dict:
    """Endpoint key -> [(domain, email)] of the accounts using it, for endpoints with a suggestable finding."""
    eps = verified.get("endpoints") or {}
    keys = [key for key, ep in sorted(eps.items()) if any(_suggestable(f) for f in ep.get("findings") or [])]
    users: dict = {key: [] for key in keys}
    accounts = verified.get("accounts") or {}
    for host in sorted(accounts):
        for account_id in sorted(accounts[host]):
            entry = accounts[host][account_id]
            for direction in ("incoming", "outgoing"):
                key = entry.get(direction)
                if key in users and entry.get("email"):
                    pair = (_domain(entry["email"]), str(entry["email"]))
                    if pair[0] not in [domain for domain, _email in users[key]]:
                        users[key].append(pair)
    return users


def suggest_targets(verified: Mapping) -> dict:
    """What to discover: ``emails`` (one address per domain of the accounts at a failing endpoint, sorted by
    domain) and ``sources`` (the domain's own sources)."""
    per_domain: dict = {}
    for pairs in _failing(verified).values():
        for domain, email in pairs:
            per_domain.setdefault(domain, email)
    return {"emails": [per_domain[domain] for domain in sorted(per_domain)], "sources": list(OWN_SOURCES)}


def endpoint_suggestions(verified: Mapping, results: Sequence) -> dict:
    """Endpoint key -> suggestion text, from ``results`` (``mail_settings_info``'s per-address results).

    An endpoint used by accounts of several domains gets one text when they agree, else one per domain
    (``for a.test: ...; for b.test: ...``); endpoints without a verified encrypted alternative are left out.
    """
    by_domain = {}
    for result in results or []:
        if isinstance(result, Mapping) and result.get("email"):
            # never propose cleartext: discovery offers it only with a finding that names the exposure (or refuses
            # it when an encrypted server answered and failed), which a one-line suggestion cannot carry
            encrypted = [c for c in result.get("candidates") or [] if c.get("security") != "none"]
            by_domain.setdefault(_domain(result["email"]), dict(result, candidates=encrypted))
    eps = verified.get("endpoints") or {}
    found = {}
    for key, pairs in _failing(verified).items():
        texts = {}
        for domain, _email in pairs:
            result = by_domain.get(domain)
            text = suggestion(eps[key], result) if result is not None else None
            if text:
                texts[domain] = text
        if len(set(texts.values())) == 1:
            found[key] = next(iter(texts.values()))
        elif texts:
            found[key] = "; ".join(f"for {domain}: {text}" for domain, text in sorted(texts.items()))
    return found


def apply_suggestions(merged: Mapping, suggestions: Mapping) -> dict:
    """A copy of the merge whose suggestable findings at each key of ``suggestions`` carry its ``suggestion``:
    the endpoint's findings and the same findings as the accounts there carry them."""
    out = {name: value for name, value in merged.items() if name != "verified"}
    verified = copy.deepcopy(merged["verified"])
    out["verified"] = verified
    for key, text in suggestions.items():
        ep = (verified.get("endpoints") or {}).get(key)
        if ep is None:
            continue
        for finding in ep.get("findings") or []:
            if _suggestable(finding):
                finding["suggestion"] = text
    for per_host in (verified.get("accounts") or {}).values():
        for entry in per_host.values():
            for finding in entry.get("findings") or []:
                if finding.get("endpoint") in suggestions and _suggestable(finding):
                    finding["suggestion"] = suggestions[finding["endpoint"]]
    return out


def report_partial_hosts(merged: Mapping):
    """The ``partial_hosts`` the merge's reports were made with (None for a fleet-wide run)."""
    try:
        partial = json.loads(merged.get("report_json") or "{}").get("partial")
    except ValueError:
        return None
    return list(partial["hosts"]) if isinstance(partial, Mapping) else None
