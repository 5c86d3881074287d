# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verify role's round trips: which accounts get one, the module call, and their outcome in the results.

Pure functions over plain data, like ``_verified``:

* ``select(fleet, default)``: every account's ``roundtrip`` decided (the account's own setting, else its
  server's, else the role's ``mailops_verify_roundtrip``). An account with a round trip also has its logins
  checked (``_inventory.endpoints``): a round trip implies the credential check.
* ``plan(fleet, verified, ...)``: one round trip per account (an account listed on several hosts is tested
  once), with the settings of both legs (passwords: keep the task no_log) and a fresh cache entry, if any.
* ``merge(merged, trips, results, ...)``: each round trip's findings join its account's findings, tagged with
  the endpoint they concern, so that ``_verified.account_result`` (the one rule), the endpoint lines, the
  reports and the gate see them; ``roundtrip`` on the account entry carries the status and the latency.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from ansible_collections.mailops.clients.plugins.module_utils._findings import make_finding
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import VERDICTS, endpoint_key
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import worst_verdict as worst
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import AUTH_MECHANISMS, is_absent
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import (
    CACHE_FORMAT,
    FINDING_KEYS,
    VerifyError,
    _summarize,
    endpoint_overrides,
    entry_sides,
    probe_options,
)

# What an account entry's ``roundtrip`` says (the reports' ``roundtrip.status``).
STATUSES = ("delivered", "delivered_elsewhere", "not_delivered", "not_sent", "not_run")
CHECK_MODE_REASON = "check mode: no test message was sent"


def select(fleet: Mapping, default: bool = False) -> dict:
    """The fleet with every account's ``roundtrip`` a bool: its own or its server's setting, else ``default``."""
    return {host: [dict(acc, roundtrip=_roundtrip(acc, default)) for acc in accs] for host, accs in fleet.items()}


def _roundtrip(account: Mapping, default: bool) -> bool:
    if is_absent(account):
        return False  # an absent account is never probed
    return bool(default) if account.get("roundtrip") is None else account["roundtrip"]


def _leg(side: Mapping, account: Mapping, options: Mapping, endpoint_options: Mapping | None) -> dict:
    key = endpoint_key(side)
    leg = {
        "host": side["host"],
        "port": side["port"],
        "security": side["security"],
        "username": side["username"],
        "password": account["password"],
        "auth_mechanism": AUTH_MECHANISMS[side["auth"]],
        **probe_options(key, side["host"], options, endpoint_options),
    }
    if side["security"] == "none" and account.get("allow_insecure"):
        leg["allow_insecure"] = True
    if side["protocol"] != "smtp":
        leg["protocol"] = side["protocol"]
        leg.pop("helo_name", None)
    return leg


def _not_possible(account: Mapping) -> str | None:
    for direction in ("incoming", "outgoing"):
        if AUTH_MECHANISMS.get(account[direction]["auth"]) is None:
            return f"{direction} auth {account[direction]['auth']} has no password login"
    if account.get("password") is None:
        return "the account has no password"
    return None


def _not_ready(entry: Mapping | None) -> str | None:
    """Why the probes already decided against the account (its round trip would only repeat the failure)."""
    if entry is None:
        return "the account was not verified"
    for direction in ("incoming", "outgoing"):
        state = (entry.get("credentials") or {}).get(direction)
        if state != "ok":
            return f"its {direction} login was not successful ({state})"
    if entry.get("verdict") == "error":
        return "its endpoints did not verify (" + ", ".join(entry.get("reasons") or ["error"]) + ")"
    return None


def cache_key(trip: Mapping, secret: str | None) -> str:
    """sha256 over what decides a round trip; the password enters only as an HMAC under ``secret``."""
    if secret is None:
        raise VerifyError("a cache secret is needed to cache round trips")
    legs = {}
    for name in ("smtp", "mailbox"):
        leg = dict(trip["call"][name])
        password = leg.pop("password")
        leg["password_hmac"] = hmac.new(secret.encode(), password.encode(), hashlib.sha256).hexdigest()
        legs[name] = leg
    material = {"roundtrip": legs, "from_address": trip["call"]["from_address"], "format": CACHE_FORMAT}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def plan(
    fleet: Mapping,
    verified: Mapping,
    options: Mapping | None = None,
    endpoint_options: Mapping | None = None,
    ttl: int = 0,
    now: float = 0.0,
    cache: Mapping | None = None,
    secret: str | None = None,
) -> list[dict]:
    """The round trips to make, one per selected account (``select`` first): items ``key``, ``refs`` (the
    ``{host, id}`` of every account entry it stands for), ``email``, ``incoming``/``outgoing`` (endpoint keys),
    ``skip`` (why it does not run, or None), ``skip_code``, ``cache_key``, ``cached`` and, when it runs,
    ``call`` (the module's ``trips`` entry: ``key``, ``smtp``, ``mailbox``, ``from_address``; passwords)."""
    accounts = (verified or {}).get("accounts") or {}
    endpoint_options = endpoint_overrides(endpoint_options)
    trips: dict[tuple, dict] = {}
    for host in sorted(fleet):
        for account in fleet[host]:
            if account.get("roundtrip") is not True or is_absent(account):
                continue
            identity = (
                account["email"],
                endpoint_key(account["incoming"]),
                account["incoming"]["username"],
                endpoint_key(account["outgoing"]),
                account["outgoing"]["username"],
                account.get("password"),
            )
            ref = {"host": host, "id": account["id"]}
            if identity in trips:
                trips[identity]["refs"].append(ref)
                continue
            trip = {
                "key": f"{account['email']} {len(trips)}",
                "refs": [ref],
                "email": account["email"],
                "incoming": endpoint_key(account["incoming"]),
                "outgoing": endpoint_key(account["outgoing"]),
                "skip": None,
                "skip_code": None,
                "cache_key": None,
                "cached": None,
            }
            trips[identity] = trip
            impossible = _not_possible(account)
            if impossible:
                trip["skip"], trip["skip_code"] = impossible, "roundtrip_not_possible"
                continue
            not_ready = _not_ready((accounts.get(host) or {}).get(account["id"]))
            if not_ready:
                trip["skip"] = not_ready
                continue
            trip["call"] = {
                "key": trip["key"],
                "smtp": _leg(account["outgoing"], account, options or {}, endpoint_options),
                "mailbox": _leg(account["incoming"], account, options or {}, endpoint_options),
                "from_address": account["email"],
            }
            if ttl > 0:
                trip["cache_key"] = cache_key(trip, secret)
                entry = ((cache or {}).get("entries") or {}).get(trip["cache_key"])
                fresh = isinstance(entry, Mapping) and 0 <= now - float(entry.get("checked_at", 0)) < ttl
                trip["cached"] = dict(entry) if fresh else None
    return list(trips.values())


def _tagged(raw, default_endpoint: str) -> dict:
    raw = raw if isinstance(raw, Mapping) else {"message": str(raw)}
    finding = {key: (None if raw.get(key) is None else str(raw.get(key))) for key in FINDING_KEYS}
    if finding["severity"] not in ("info", "warning", "error"):
        finding["severity"] = "error"
    return {"endpoint": str(raw.get("endpoint") or default_endpoint), **finding}


def _outcome(trip: Mapping, raw: Mapping | None, check_mode: bool) -> dict:
    """The sanitized outcome of one round trip (what facts, reports and the cache keep)."""
    if trip["skip"]:
        findings = []
        if trip["skip_code"]:
            finding = make_finding(trip["skip_code"], reason=trip["skip"]).as_dict()
            findings.append({"endpoint": trip["incoming"], **finding})
        return {"status": "not_run", "reason": trip["skip"], "latency_ms": None, "findings": findings}
    if trip.get("cached"):
        return dict(trip["cached"]["result"], cached=True)
    if check_mode:
        return {"status": "not_run", "reason": CHECK_MODE_REASON, "latency_ms": None, "findings": []}
    if not isinstance(raw, Mapping) or raw.get("status") not in STATUSES:
        msg = "the round trip module returned no result for this account"
        finding = make_finding("module_failed", reason=msg).as_dict()
        return {
            "status": "not_run",
            "reason": msg,
            "latency_ms": None,
            "findings": [{"endpoint": trip["incoming"], **finding}],
        }
    outcome = {
        "status": raw["status"],
        "reason": None,
        "latency_ms": raw.get("latency_ms"),
        "message_id": raw.get("message_id"),
        "deleted": bool(raw.get("deleted")),
        "smtp_response": raw.get("smtp_response"),
        "findings": [_tagged(f, trip["incoming"]) for f in raw.get("findings") or []],
    }
    if isinstance(raw.get("delivered_elsewhere"), Mapping):
        outcome["delivered_elsewhere"] = {k: str(raw["delivered_elsewhere"].get(k)) for k in ("endpoint", "username")}
    return outcome


def merge(
    merged: Mapping,
    trips: list,
    results: Mapping | None,
    now: float = 0.0,
    ttl: int = 0,
    check_mode: bool = False,
    module_message: str | None = None,
) -> dict:
    """``merged`` (``_verified.merge``'s result) with the round trips' outcomes in the account entries, their
    verdicts and reasons re-derived, the summary updated (``roundtrips`` counts by status) and the new cache
    entries. ``results``: the module's ``roundtrips`` by trip key; ``module_message``: the module's failure, if any."""
    merged = json.loads(json.dumps(merged))  # a copy: the input stays as it was
    verified = merged["verified"]
    eps = verified.get("endpoints") or {}
    counts = dict.fromkeys(STATUSES, 0)
    entries = merged.setdefault("cache", {"format": CACHE_FORMAT, "entries": {}}).setdefault("entries", {})
    for trip in trips:
        raw = (results or {}).get(trip["key"])
        if raw is None and module_message and not trip["skip"] and not trip.get("cached") and not check_mode:
            raw = {"status": "not_run", "findings": [make_finding("module_failed", reason=module_message).as_dict()]}
            raw["findings"][0]["endpoint"] = trip["incoming"]
        outcome = _outcome(trip, raw, check_mode)
        counts[outcome["status"]] += 1
        if trip.get("cache_key") and ttl > 0 and not trip.get("cached") and outcome["status"] != "not_run":
            entries[trip["cache_key"]] = {"roundtrip": trip["email"], "checked_at": now, "result": outcome}
        for ref in trip["refs"]:
            entry = (verified["accounts"].get(ref["host"]) or {}).get(ref["id"])
            if entry is None:
                continue
            entry["roundtrip"] = {k: v for k, v in outcome.items() if k != "findings"}
            codes = []
            for finding in outcome["findings"]:
                plain = {k: finding.get(k) for k in FINDING_KEYS}
                if plain in (eps.get(finding["endpoint"]) or {}).get("findings", []):
                    continue  # the endpoint's own finding (a certificate warning), already there
                if finding["severity"] != "info" and finding["code"]:
                    codes.append(finding["code"])
                if finding not in entry["findings"]:
                    entry["findings"].append(dict(finding))
            entry["roundtrip"]["codes"] = list(dict.fromkeys(codes))
            result = _summarize(entry_sides(entry, eps))
            entry["verdict"], entry["reasons"] = result["verdict"], result["reasons"]
    merged["cache"]["entries"] = dict(sorted(entries.items()))
    summary = merged["summary"]
    all_accounts = [a for per_host in verified["accounts"].values() for a in per_host.values()]
    summary["accounts_by_verdict"] = {v: sum(1 for a in all_accounts if a["verdict"] == v) for v in VERDICTS}
    summary["verdict"] = worst([summary["verdict"], *(a["verdict"] for a in all_accounts)])
    summary["roundtrips"] = counts
    return merged


def lines(merged: Mapping) -> list[str]:
    """One line per account with a round trip: ``host alice@example.test: delivered in 0.4 s``."""
    out = []
    for host, per_host in sorted((merged["verified"].get("accounts") or {}).items()):
        for account_id, entry in sorted(per_host.items()):
            trip = entry.get("roundtrip")
            if not trip:
                continue
            text = f"round trip {host} {account_id}: {trip['status']}"
            if trip.get("latency_ms") is not None:
                text += f" in {trip['latency_ms'] / 1000:.2f} s"
            elsewhere = trip.get("delivered_elsewhere")
            if elsewhere:
                text += f" (found in the mailbox of {elsewhere['username']} at {elsewhere['endpoint']})"
            if trip.get("reason"):
                text += f" ({trip['reason']})"
            if trip.get("cached"):
                text += " (cached)"
            if trip.get("codes"):
                text += f" [{', '.join(trip['codes'])}]"
            out.append(text)
    return out
