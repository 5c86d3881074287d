# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verification results: probe plan, result merge, controller cache entries, the render gate.

Pure functions over plain data (normalized accounts from ``_inventory``, the registered results of the
``*_server_info`` modules). Nothing here keeps or returns a password: the probe plan carries them to the
module call only, results and cache entries are rebuilt from an allow-list of keys.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence

from ansible_collections.mailops.clients.plugins.module_utils._connection import SECURITY_CHOICES
from ansible_collections.mailops.clients.plugins.module_utils._findings import make_finding
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import SEVERITIES, VERDICTS, endpoint_key
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import worst_verdict as worst
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import (
    AUTH_MECHANISMS,
    endpoints,
    is_absent,
    present,
    server_host,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._values import did_you_mean, kind

# module options the role passes through (never secrets); keys of mailops_verify_options
PROBE_OPTIONS = (
    "validate_certs",
    "ca_path",
    "server_name",
    "timeout",
    "tls_min_version",
    "cert_expiry_warn_days",
    "helo_name",
)
FINDING_KEYS = ("code", "severity", "stage", "message", "fix")
# the protocols of an endpoint key (incoming and outgoing)
KEY_PROTOCOLS = ("imap", "pop3", "smtp")
_KEY_RE = re.compile(r"^(?P<protocol>[^:/]+)://(?P<host>.+):(?P<port>[0-9]{1,5})/(?P<security>[^/]+)$")
_OVERRIDE_FIELD = "mailops_verify_endpoint_options"
CACHE_FORMAT = 1


class VerifyError(ValueError):
    """Bad input to the verify helpers (wrong option, malformed results)."""


def _finding(raw) -> dict:
    raw = raw if isinstance(raw, Mapping) else {"message": str(raw)}
    finding = {key: (None if raw.get(key) is None else str(raw.get(key))) for key in FINDING_KEYS}
    if finding["severity"] not in SEVERITIES:
        finding["severity"] = "error"
    return finding


def _findings(raw) -> list[dict]:
    return [_finding(f) for f in raw] if isinstance(raw, Sequence) and not isinstance(raw, (str, bytes)) else []


def _override_host(raw: str, name: str) -> str:
    host = server_host(raw)
    if host is None:
        raise VerifyError(
            f"{_OVERRIDE_FIELD}: invalid key {name!r}. Fix: key the options by a server host "
            f"(mail.example.test) or an endpoint key (imap://mail.example.test:993/tls)"
        )
    return host


def override_key(raw) -> str:
    """A key of ``mailops_verify_endpoint_options`` as the plan writes endpoints and hosts: the host in lower
    case and ASCII form, an IPv6 address bare for a host key and in brackets inside an endpoint key, so that
    ``IMAP://Mail.Example.test:993/TLS`` and ``imap://::1:993/tls`` find their endpoints."""
    name = str(raw)
    if "://" not in name:
        return _override_host(name, name)
    match = _KEY_RE.match(name.strip())
    if not match:
        raise VerifyError(
            f"{_OVERRIDE_FIELD}: invalid endpoint key {name!r}. Fix: write it as protocol://host:port/security "
            f"(imap://mail.example.test:993/tls)"
        )
    protocol, security = match["protocol"].lower(), match["security"].lower()
    port = int(match["port"])
    if protocol not in KEY_PROTOCOLS:
        raise VerifyError(
            f"{_OVERRIDE_FIELD}: endpoint key {name!r} has protocol {protocol!r}. "
            f"Fix: use one of {', '.join(KEY_PROTOCOLS)}"
        )
    if security not in SECURITY_CHOICES:
        raise VerifyError(
            f"{_OVERRIDE_FIELD}: endpoint key {name!r} has security {security!r}. "
            f"Fix: use one of {', '.join(SECURITY_CHOICES)}"
        )
    if not 1 <= port <= 65535:
        raise VerifyError(f"{_OVERRIDE_FIELD}: endpoint key {name!r} has port {port}. Fix: use a port from 1 to 65535")
    host = _override_host(match["host"], name)
    return endpoint_key({"protocol": protocol, "host": host, "port": port, "security": security})


def endpoint_overrides(endpoint_options: Mapping | None) -> dict:
    """``mailops_verify_endpoint_options`` keyed by ``override_key``; two keys for one endpoint are an error."""
    if endpoint_options is None:
        return {}
    if not isinstance(endpoint_options, Mapping):
        raise VerifyError(
            f"{_OVERRIDE_FIELD} must be a dictionary keyed by server host or endpoint key, got {kind(endpoint_options)}"
        )
    result: dict = {}
    written: dict = {}
    for raw, value in endpoint_options.items():
        key = override_key(raw)
        if key in result:
            raise VerifyError(
                f"{_OVERRIDE_FIELD}: keys {written[key]!r} and {str(raw)!r} both name {key}. "
                "Fix: merge them into one entry"
            )
        result[key], written[key] = value, str(raw)
    return result


def unmatched_overrides(endpoint_options: Mapping | None, probes: Sequence[Mapping]) -> list[str]:
    """Warnings for keys of ``mailops_verify_endpoint_options`` that match no endpoint and no server host of
    ``probes`` (a typo applies to nothing; under ``--limit`` a server of other hosts is expected here)."""
    overrides = endpoint_overrides(endpoint_options)
    known = {p["key"] for p in probes} | {p["host"] for p in probes}
    warnings = []
    for key in sorted(set(overrides) - known):
        hint = did_you_mean(key, known, limit=1)
        warnings.append(
            f"{_OVERRIDE_FIELD}: {key} matches no endpoint or server host of the accounts in this play{hint}; "
            f"its options apply to nothing"
        )
    return warnings


def probe_options(key: str, host: str, options: Mapping | None, overrides: Mapping | None) -> dict:
    """Module options for one endpoint: ``options`` updated by ``overrides[host]`` then ``overrides[key]``
    (``overrides`` as ``endpoint_overrides`` returns them)."""
    merged = {}
    overrides = overrides or {}
    for source in (options or {}, overrides.get(host) or {}, overrides.get(key) or {}):
        if not isinstance(source, Mapping):
            raise VerifyError(f"endpoint options for {key} must be a dictionary, got {kind(source)}")
        for name, value in source.items():
            if name not in PROBE_OPTIONS:
                raise VerifyError(f"unknown probe option '{name}' for {key}; use one of: {', '.join(PROBE_OPTIONS)}")
            merged[name] = value
    return {name: merged[name] for name in PROBE_OPTIONS if merged.get(name) is not None}


def cache_key(probe: Mapping, secret: str | None) -> str:
    """sha256 over what decides the outcome of a probe; passwords enter only as an HMAC under ``secret``."""
    creds = []
    for cred in probe["accounts"]:
        if secret is None:
            raise VerifyError("a cache secret is needed to cache credential checks")
        digest = hmac.new(secret.encode(), cred["password"].encode(), hashlib.sha256).hexdigest()
        creds.append([cred["username"], digest])
    material = {
        "key": probe["key"],
        "auth_mechanism": probe["auth_mechanism"],
        "options": probe["options"],
        "credentials": creds,
        "format": CACHE_FORMAT,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def plan(
    fleet: Mapping,
    credentials: bool = False,
    options: Mapping | None = None,
    endpoint_options: Mapping | None = None,
    cache: Mapping | None = None,
    ttl: int = 0,
    now: float = 0.0,
    secret: str | None = None,
) -> list[dict]:
    """The module calls to make: one per endpoint (one more per extra auth mechanism its accounts use).

    Items: ``key protocol host port security auth_mechanism options accounts refs cache_key cached``;
    ``accounts`` is the module's ``accounts`` option (username/password: keep the task no_log), ``refs``
    the account references per credential, ``cached`` a fresh cache entry or None.
    """
    result = []
    overrides = endpoint_overrides(endpoint_options)
    for ep in endpoints(fleet, credentials=credentials):
        opts = probe_options(ep["key"], ep["host"], options, overrides)
        if ep["security"] == "none" and ep["allow_insecure"]:
            # the server definition accepted cleartext: the module reports it as a warning, not an error
            opts = dict(opts, allow_insecure=True)
        groups: dict[str, list] = {}
        for cred in ep["credentials"]:
            groups.setdefault(cred["auth_mechanism"], []).append(cred)
        batches: list[tuple] = []
        for mechanism in sorted(groups):
            # the modules refuse a username twice in one call (two passwords for one mailbox): split
            chunks: list[list] = []
            for cred in groups[mechanism]:
                for chunk in chunks:
                    if all(c["username"] != cred["username"] for c in chunk):
                        chunk.append(cred)
                        break
                else:
                    chunks.append([cred])
            batches.extend((mechanism, index, chunk) for index, chunk in enumerate(chunks))
        for mechanism, batch, creds in batches or [(None, 0, [])]:
            probe = {
                "key": ep["key"],
                "protocol": ep["protocol"],
                "host": ep["host"],
                "port": ep["port"],
                "security": ep["security"],
                "auth_mechanism": mechanism,
                "batch": batch,
                "options": opts,
                "accounts": [{"username": c["username"], "password": c["password"]} for c in creds],
                "refs": [c["refs"] for c in creds],
                "users": ep["accounts"],
            }
            probe["cache_key"] = cache_key(probe, secret) if ttl > 0 else None
            entry = (cache or {}).get("entries", {}).get(probe["cache_key"]) if ttl > 0 else None
            fresh = isinstance(entry, Mapping) and 0 <= now - float(entry.get("checked_at", 0)) < ttl
            probe["cached"] = dict(entry) if fresh else None
            result.append(probe)
    return result


def _sanitize(result: Mapping, n_accounts: int) -> dict:
    """The part of a module result kept in facts, reports and cache: verdicts, findings, TLS facts."""
    # failed_when: false in the role resets "failed": a result without a verdict is a module failure
    if result.get("failed") or result.get("verdict") not in VERDICTS:
        msg = str(result.get("msg") or "the module failed without a message")
        finding = make_finding("module_failed", reason=msg).as_dict()
        return {
            "verdict": "error",
            "findings": [finding],
            "tls": None,
            "certificate": None,
            "accounts": [{"verdict": "error", "findings": [], "checked": False} for dummy in range(n_accounts)],
        }
    findings = _findings(result.get("findings"))
    verdict = result.get("verdict")
    if n_accounts:
        # the module's own summary of failed logins: attributed to the accounts, not to the endpoint
        findings = [f for f in findings if f["code"] != "account_failures"]
        verdict = None
    if verdict not in VERDICTS:
        verdict = worst(f["severity"] for f in findings if f["severity"] != "info")
    accounts = []
    raw_accounts = result.get("accounts") if isinstance(result.get("accounts"), Sequence) else []
    for index in range(n_accounts):
        entry = raw_accounts[index] if index < len(raw_accounts) and isinstance(raw_accounts[index], Mapping) else None
        if entry is None:
            finding = make_finding("login_not_reported").as_dict()
            accounts.append({"verdict": "error", "findings": [finding], "checked": False})
            continue
        acc_findings = _findings(entry.get("findings"))
        login = entry.get("login") if isinstance(entry.get("login"), Mapping) else {}
        checked = login.get("attempted", True) is not False
        acc_verdict = entry.get("verdict")
        if acc_verdict not in VERDICTS:
            acc_verdict = "ok" if login.get("succeeded") is True else "error"
            acc_verdict = worst([acc_verdict, *(f["severity"] for f in acc_findings if f["severity"] != "info")])
        if not checked:
            accounts.append({"verdict": acc_verdict, "findings": acc_findings, "checked": False})
            continue
        accounts.append({"verdict": acc_verdict, "findings": acc_findings, "checked": True})
    keep = {}
    for name in ("tls", "certificate"):
        keep[name] = result.get(name) if isinstance(result.get(name), Mapping) else None
    return {"verdict": verdict, "findings": findings, **keep, "accounts": accounts}


# --- the one rule: is an account verified? -------------------------------------------------------------------
# Why an account's login was not checked. These reasons do NOT block: nothing was asked that could fail.
# Every other reason (a finding code such as auth_not_offered, endpoint_failed, login_not_reported, or
# not_verified) means a login that was asked for did not succeed, and blocks.
SKIPPED_LOGINS = {
    "credential_checks_off": "credential checks are off (mailops_verify_credentials: false)",
    "no_password": "the account has no password",
    "auth_oauth2": "auth oauth2 is not checked with a password",
    "auth_ntlm": "auth ntlm is not checked with a password",
    "auth_gssapi": "auth gssapi is not checked with a password",
    "auth_none": "auth none: there is no login",
}


def login_skip_reason(side: Mapping, password, credentials: bool) -> str | None:
    """Why the login of one account side is not checked (a key of SKIPPED_LOGINS), or None when it must be.

    The same selection as ``_inventory.endpoints(credentials=True)``, which puts the login into the probe plan.
    """
    if not credentials:
        return "credential_checks_off"
    if AUTH_MECHANISMS.get(side["auth"]) is None:
        return "auth_" + str(side["auth"]).replace("-", "_")
    if password is None:
        return "no_password"
    return None


def _own_findings(entry: Mapping, key: str, endpoint: Mapping) -> list[dict]:
    """The findings of the account's own login at ``key`` (the endpoint's findings are not repeated)."""
    return [
        f
        for f in entry.get("findings") or []
        if f.get("endpoint") == key and _plain(f) not in [_plain(e) for e in endpoint["findings"]]
    ]


def side_result(key: str, endpoint: Mapping | None, credentials: str, reason: str | None, own: Sequence) -> dict:
    """The outcome of one account at one of its endpoints.

    ``credentials`` is ``ok``, ``failed`` or ``not_checked``; ``reason`` says why it was not checked (a key of
    SKIPPED_LOGINS does not count against the account, anything else does); ``own`` are the findings of the
    account's own login. Returns ``endpoint``, ``verdict`` (worst of the endpoint's verdict and the login's),
    ``endpoint_verdict``, ``credentials``, ``reason``, ``findings`` (own) and ``codes`` (why it is not ok).
    """
    if endpoint is None:
        return {
            "endpoint": key,
            "verdict": "error",
            "endpoint_verdict": None,
            "credentials": credentials,
            "reason": reason,
            "findings": [],
            "codes": ["not_verified"],
        }
    codes = [f["code"] or "?" for f in endpoint["findings"] if f["severity"] != "info"]
    own = [f for f in own if f.get("severity") != "info"]
    if credentials == "ok":
        login = worst(f["severity"] for f in own)
        codes += [f["code"] or "?" for f in own]
    elif credentials == "failed":
        login = "error"
        codes += [f["code"] or "?" for f in own if f["severity"] == "error"] or ["auth_failed"]
    elif reason in SKIPPED_LOGINS:
        login = "ok"
    else:
        login = "error"
        if reason != "endpoint_failed" or endpoint["verdict"] != "error":
            codes.append(reason or "login_not_checked")
    verdict = worst([endpoint["verdict"], login])
    return {
        "endpoint": key,
        "verdict": verdict,
        "endpoint_verdict": endpoint["verdict"],
        "credentials": credentials,
        "reason": reason,
        "findings": own,
        "codes": list(dict.fromkeys(codes)) if verdict != "ok" else [],
    }


def entry_sides(entry: Mapping, eps: Mapping) -> dict:
    """``side_result`` of both directions of a ``mailops_verified`` account entry (its own endpoint keys)."""
    sides = {}
    for direction in ("incoming", "outgoing"):
        key = entry[direction]
        ep = eps.get(key)
        sides[direction] = side_result(
            key,
            ep,
            (entry.get("credentials") or {}).get(direction, "not_checked"),
            (entry.get("not_checked") or {}).get(direction),
            _own_findings(entry, key, ep) if ep is not None else [],
        )
    return sides


def account_result(account: Mapping, verified: Mapping | None) -> dict:
    """THE rule: whether a normalized account verified, judged on its **current** settings.

    An account is verified when every endpoint it uses verified and, where its login was to be checked
    (``verified["credentials"]`` true, a password, password authentication), that login succeeded at each of
    them. A login that was to be checked but was not (no AUTH offered, endpoint failed before the login,
    login not reported, settings changed since verification) counts as an error with its reason.

    Returns ``verdict`` (ok, warning, error), ``reasons`` (codes why it is not ok) and ``sides`` (per direction,
    ``side_result``). The verify role's account verdicts, endpoint lines, reports and exit status and the
    renderers' gate all come from here.
    """
    verified = verified if isinstance(verified, Mapping) else {}
    endpoints_ = verified.get("endpoints") or {}
    entry = (verified.get("accounts") or {}).get(account["id"])
    entry = entry if isinstance(entry, Mapping) else None
    credentials_on = bool(verified.get("credentials"))
    sides = {}
    for direction in ("incoming", "outgoing"):
        key = endpoint_key(account[direction])
        ep = endpoints_.get(key)
        if entry is not None and entry.get(direction) == key and ep is not None:
            state = (entry.get("credentials") or {}).get(direction, "not_checked")
            reason = (entry.get("not_checked") or {}).get(direction)
            own = _own_findings(entry, key, ep)
        else:
            # verified for other settings or another account: only the endpoint's own verdict applies
            skip = login_skip_reason(account[direction], account.get("password"), credentials_on)
            state, reason, own = "not_checked", skip or "not_verified", []
        sides[direction] = side_result(key, ep, state, reason, own)
    return _summarize(sides)


def _summarize(sides: Mapping) -> dict:
    verdict = worst(side["verdict"] for side in sides.values())
    reasons = [code for side in sides.values() if side["verdict"] != "ok" for code in side["codes"]]
    return {"verdict": verdict, "reasons": sorted(set(reasons)), "sides": dict(sides)}


def merge(
    fleet: Mapping,
    probes: Sequence[Mapping],
    results: Sequence[Mapping],
    now: float = 0.0,
    cache: Mapping | None = None,
    ttl: int = 0,
    credentials: bool | None = None,
    dropped: Mapping | None = None,
) -> dict:
    """Combine the plan, the module results (registered loop results, any order) and cache hits.

    Returns ``{"verified": {"endpoints": {...}, "accounts": {host: {id: ...}}, "credentials": bool},
    "cache": new cache, "summary": {...}}``. ``results`` items need ``item.cache_key``/``item.key`` +
    ``item.auth_mechanism`` to be matched to their probe (what a registered loop gives). ``credentials`` is
    the ``credentials`` option the plan was made with (None: whether the plan carries any login).
    Account verdicts come from ``account_result``. ``dropped`` maps the hosts that were asked for but failed
    before verification (argument or inventory errors) to their message: each is a failure in the reports
    (``merged["dropped"]``) and makes the summary verdict an error.
    """
    if credentials is None:
        credentials = any(probe.get("accounts") for probe in probes)
    by_probe = {}
    for res in results or []:
        if not isinstance(res, Mapping) or res.get("skipped"):
            continue
        item = res.get("item") or {}
        by_probe[(item.get("key"), item.get("auth_mechanism"), item.get("batch", 0))] = res
    endpoints_out: dict[str, dict] = {}
    credential_results: dict[tuple, dict] = {}
    new_entries = {}
    if ttl > 0 and isinstance(cache, Mapping):
        for ckey, entry in (cache.get("entries") or {}).items():
            if isinstance(entry, Mapping) and 0 <= now - float(entry.get("checked_at", 0)) < ttl:
                new_entries[ckey] = dict(entry)
    probed = cached = 0
    for probe in probes:
        if probe.get("cached"):
            sanitized = probe["cached"]["result"]
            checked_at = float(probe["cached"]["checked_at"])
            from_cache = True
            cached += 1
        else:
            raw = by_probe.get((probe["key"], probe["auth_mechanism"], probe.get("batch", 0)))
            if raw is None:
                raw = {"failed": True, "msg": f"no probe result for {probe['key']} (the probe task did not run)"}
            sanitized = _sanitize(raw, len(probe["accounts"]))
            checked_at = now
            from_cache = False
            probed += 1
            if probe.get("cache_key") and ttl > 0:
                new_entries[probe["cache_key"]] = {"endpoint": probe["key"], "checked_at": now, "result": sanitized}
        ep = endpoints_out.get(probe["key"])
        if ep is None:
            ep = endpoints_out[probe["key"]] = {
                "key": probe["key"],
                "protocol": probe["protocol"],
                "host": probe["host"],
                "port": probe["port"],
                "security": probe["security"],
                "verdict": "ok",
                "findings": [],
                "tls": sanitized.get("tls"),
                "certificate": sanitized.get("certificate"),
                "cached": from_cache,
                "checked_at": checked_at,
                "accounts": len(probe["users"]),
                "credentials_checked": 0,
            }
        for finding in sanitized["findings"]:
            if finding not in ep["findings"]:
                ep["findings"].append(finding)
        ep["verdict"] = worst([ep["verdict"], sanitized["verdict"]])
        ep["cached"] = ep["cached"] and from_cache
        ep["credentials_checked"] += sum(1 for acc in sanitized["accounts"] if acc.get("checked", True))
        for refs, acc in zip(probe["refs"], sanitized["accounts"]):
            for ref in refs:
                credential_results[(ref["host"], ref["id"], ref["direction"])] = {"endpoint": probe["key"], **acc}

    accounts_out: dict[str, dict] = {}
    for host in sorted(fleet):
        per_host = accounts_out[host] = {}
        for account in present(fleet[host]):  # an absent account is not verified, reported or gated
            entry = {"email": account["email"], "verdict": "ok", "reasons": [], "findings": [], "credentials": {}}
            not_checked = {}
            for direction in ("incoming", "outgoing"):
                key = endpoint_key(account[direction])
                entry[direction] = key
                ep = endpoints_out[key]
                cred = credential_results.get((host, account["id"], direction))
                if cred is None:
                    entry["credentials"][direction] = "not_checked"
                    skip = login_skip_reason(account[direction], account.get("password"), credentials)
                    not_checked[direction] = skip or "login_not_checked"
                elif not cred.get("checked", True):
                    entry["credentials"][direction] = "not_checked"
                    # why the login that was asked for did not happen: the account's own finding, if any
                    own = [f["code"] for f in cred["findings"] if f["severity"] == "error" and f["code"]]
                    own = [code for code in own if code != "account_not_checked"]
                    not_checked[direction] = own[0] if own else "endpoint_failed"
                else:
                    entry["credentials"][direction] = "ok" if cred["verdict"] != "error" else "failed"
                for finding in ep["findings"] + (cred["findings"] if cred else []):
                    tagged = {"endpoint": key, **finding}
                    if tagged not in entry["findings"]:
                        entry["findings"].append(tagged)
            entry["not_checked"] = not_checked
            result = _summarize(entry_sides(entry, endpoints_out))
            entry["verdict"], entry["reasons"] = result["verdict"], result["reasons"]
            per_host[account["id"]] = entry
    counts = {v: sum(1 for e in endpoints_out.values() if e["verdict"] == v) for v in VERDICTS}
    acc_counts = {v: sum(1 for h in accounts_out.values() for a in h.values() if a["verdict"] == v) for v in VERDICTS}
    summary = {
        "verdict": worst(e["verdict"] for e in endpoints_out.values()) if endpoints_out else "ok",
        "endpoints": len(endpoints_out),
        "endpoints_by_verdict": counts,
        "accounts": sum(acc_counts.values()),
        "accounts_by_verdict": acc_counts,
        "credentials": bool(credentials),
        "probed": probed,
        "cached": cached,
    }
    summary["verdict"] = worst([summary["verdict"]] + [a["verdict"] for h in accounts_out.values() for a in h.values()])
    dropped_out = {str(host): _check_message(msg) for host, msg in sorted((dropped or {}).items())}
    summary["hosts_failed"] = len(dropped_out)
    if dropped_out:
        summary["verdict"] = "error"
    return {
        "verified": {
            "endpoints": dict(sorted(endpoints_out.items())),
            "accounts": accounts_out,
            "credentials": bool(credentials),
        },
        "cache": {"format": CACHE_FORMAT, "entries": dict(sorted(new_entries.items()))},
        "summary": summary,
        "dropped": dropped_out,
    }


# What Ansible puts before the message of a failed check task ("Task failed: The filter plugin '...' failed: ").
_ANSIBLE_PREFIXES = re.compile(
    r"^(?:Task failed: |Action failed: |Error while evaluating conditional: |The filter plugin '[^']*' failed: )+"
)


def _check_message(msg) -> str:
    """The message of a check that stopped a host, without what Ansible wraps around it."""
    text = str(msg or "")
    if "original message: " in text:  # ansible-core < 2.19: "... Error was a <class ...>, original message: MSG\n\n..."
        text = text.split("original message: ", 1)[1].split("\n\n", 1)[0]
    return _ANSIBLE_PREFIXES.sub("", text).strip() or "failed before verification"


def verdict_lines(verified: Mapping) -> list[str]:
    """One line per endpoint with the outcome of the accounts that use it (``account_result``'s sides).

    When the endpoint's own verdict is the outcome of every account there:
    ``imap://h:993/tls: ok (3 accounts, 2 credentials checked)``, ``pop3://h:995/tls: error [cert_expired]
    (3 accounts)``; when accounts fare worse than the endpoint (a login failed or could not be checked):
    ``smtp://h:587/starttls: error: 1 of 2 accounts: auth_failed (2 credentials checked)``.
    """
    eps = verified.get("endpoints") or {}
    at: dict[str, list] = {}
    for per_host in (verified.get("accounts") or {}).values():
        for entry in per_host.values():
            for side in entry_sides(entry, eps).values():
                at.setdefault(side["endpoint"], []).append(side)
    lines = []
    for key, ep in sorted(eps.items()):
        sides = at.get(key, [])
        count = len(sides) or ep["accounts"]
        noun = f"account{'s' if count != 1 else ''}"
        verdict = worst(side["verdict"] for side in sides) if sides else ep["verdict"]
        extra = []
        if ep.get("credentials_checked"):
            extra.append(f"{ep['credentials_checked']} credentials checked")
        if ep.get("cached"):
            extra.append("cached")
        bad = [side for side in sides if side["verdict"] != "ok"]
        ep_codes = list(dict.fromkeys(f["code"] or "?" for f in ep["findings"] if f["severity"] != "info"))
        if verdict == ep["verdict"] and all(set(side["codes"]) <= set(ep_codes) for side in bad):
            # the endpoint's own verdict is every account's outcome here
            codes = f" [{', '.join(ep_codes)}]" if ep_codes else ""
            lines.append(f"{key}: {verdict}{codes} ({', '.join([f'{count} {noun}', *extra])})")
        else:
            codes = ", ".join(dict.fromkeys(code for side in bad for code in side["codes"]))
            line = f"{key}: {verdict}: {len(bad)} of {count} {noun}: {codes}"
            lines.append(line + (f" ({', '.join(extra)})" if extra else ""))
        hint = next((f["suggestion"] for f in ep["findings"] if f.get("suggestion")), None)
        if hint:  # _verify_suggest: verified settings that discovery found for the accounts' domain
            lines[-1] += f"; did you mean {hint}"
    return lines


def host_view(verified: Mapping, host: str, summary: Mapping | None = None) -> dict:
    """What one host gets as ``mailops_verified``: every endpoint, its own accounts and (given) the run's summary."""
    view = {
        "endpoints": verified.get("endpoints") or {},
        "accounts": (verified.get("accounts") or {}).get(host) or {},
        "credentials": bool(verified.get("credentials")),
    }
    if summary is not None:
        view["summary"] = summary
    return view


def _describe(finding: Mapping) -> str:
    text = f"[{finding.get('severity')}] {finding.get('code')}"
    if finding.get("stage"):
        text += f" ({finding['stage']})"
    text += f": {finding.get('message')}"
    if finding.get("fix"):
        text += f" Fix: {finding['fix']}"
    if finding.get("suggestion"):
        text += f" Did you mean {finding['suggestion']}"
    return text


def gate(
    accounts: Sequence[Mapping],
    verified: Mapping | None,
    allow_unverified: bool = False,
    client: str | None = None,
    host: str | None = None,
    fail_on: str = "error",
) -> dict:
    """Decide which normalized accounts may be rendered.

    An account passes when ``account_result`` (the one rule, on its current settings) gives it a verdict
    below ``fail_on``: both endpoints verified, and its logins, where they were to be checked, succeeded.
    Returns ``allowed`` (the accounts to render), ``unverified`` (ids of the others), ``refusals`` (message
    lines: each failing endpoint with its findings and the accounts it blocks, each login that failed or
    could not be checked), ``warnings`` and ``message`` (head line + refusal lines, empty when every account
    verified). With ``allow_unverified`` every account is allowed, ``refusals`` is empty and the message
    becomes the only warning. Absent accounts (``state: absent``) are neither allowed nor unverified: nothing
    is rendered from them and they never block.
    """
    if fail_on not in ("error", "warning"):
        raise VerifyError(f"fail_on must be error or warning, got {fail_on!r}")
    levels = ("error",) if fail_on == "error" else ("error", "warning")
    verified = verified if isinstance(verified, Mapping) else {}
    ep_results = verified.get("endpoints") or {}
    failing_eps: dict[str, list[str]] = {}
    cred_lines: list[str] = []
    allowed, unverified = [], []
    for account in present(accounts):
        result = account_result(account, verified)
        if result["verdict"] not in levels:
            allowed.append(account)
            continue
        if account["id"] not in unverified:
            unverified.append(account["id"])
        for direction, side in result["sides"].items():
            if side["verdict"] not in levels:
                continue
            key = side["endpoint"]
            if side["endpoint_verdict"] is None or side["endpoint_verdict"] in levels:
                failing_eps.setdefault(key, []).append(account["id"])
                continue
            who = f"{account['id']} ({direction}, user {account[direction]['username']})"
            detail = "; ".join(_describe(f) for f in side["findings"] if f.get("severity") in levels)
            if side["credentials"] == "failed":
                cred_lines.append(f"- credentials of {who} rejected by {key}: {detail or 'login failed'}")
            elif side["reason"] == "not_verified":
                cred_lines.append(
                    f"- credentials of {who} were not checked at {key} with these settings (not_verified): run the "
                    "mailops.clients.verify role for this host earlier in the play"
                )
            elif side["credentials"] == "not_checked":
                cred_lines.append(
                    f"- credentials of {who} could not be checked at {key} ({side['reason']}): "
                    f"{detail or 'the login was asked for but did not happen'}"
                )
            else:
                cred_lines.append(f"- login of {who} at {key}: {detail}")
    lines = []
    for key in sorted(failing_eps):
        ep = ep_results.get(key)
        users = ", ".join(dict.fromkeys(failing_eps[key]))
        if ep is None:
            lines.append(
                f"- endpoint {key} was not verified (used by {users}): run the mailops.clients.verify role "
                "for this host earlier in the play"
            )
            continue
        lines.append(f"- endpoint {key} verdict {ep.get('verdict')} (used by {users}):")
        for finding in ep.get("findings") or []:
            if finding.get("severity") in levels:
                lines.append(f"    {_describe(finding)}")
    lines.extend(cred_lines)
    message = ""
    if unverified:
        who = f"{client}: " if client else ""
        where = f" on {host}" if host else ""
        ids = ", ".join(unverified)
        count = f"{len(unverified)} account{'s' if len(unverified) != 1 else ''}"
        if allow_unverified:
            head = (
                f"{who}rendering {count}{where} whose settings did not verify ({ids}), "
                "because mailops_allow_unverified is true:"
            )
        else:
            head = (
                f"{who}refusing to render {count}{where} whose settings did not verify ({ids}); fix the "
                "findings below or set mailops_allow_unverified: true to render anyway:"
            )
        message = "\n".join([head, *lines])
    unchecked = _unchecked_certificates(allowed if not allow_unverified else present(accounts), ep_results, client)
    if allow_unverified:
        return {
            "allowed": present(accounts),
            "unverified": unverified,
            "refusals": [],
            "warnings": ([message] if message else []) + unchecked,
            "message": message,
        }
    return {"allowed": allowed, "unverified": unverified, "refusals": lines, "warnings": unchecked, "message": message}


def _unchecked_certificates(accounts: Sequence[Mapping], ep_results: Mapping, client: str | None) -> list[str]:
    """One warning per TLS endpoint of ``accounts`` whose certificate chain was not verified (validate_certs false):
    the verdict could not see a certificate problem that the mail client will refuse."""
    users: dict[str, list[str]] = {}
    for account in accounts:
        for direction in ("incoming", "outgoing"):
            key = endpoint_key(account[direction])
            certificate = (ep_results.get(key) or {}).get("certificate")
            if isinstance(certificate, Mapping) and certificate.get("chain_verified") is False:
                users.setdefault(key, []).append(account["id"])
    who = f"{client}: " if client else ""
    return [
        f"{who}rendering {', '.join(dict.fromkeys(ids))} for {key}, whose certificate was not verified "
        "(validate_certs: false): the mail client verifies it and refuses the connection if it is not trusted"
        for key, ids in sorted(users.items())
    ]


def _plain(finding: Mapping) -> dict:
    return {key: finding.get(key) for key in FINDING_KEYS}


# The gate as the renderer actions apply it (option ``gate`` of thunderbird_profiles, apple_mail_profiles and
# outlook_profiles): the roles pass mailops_verified here instead of running gate tasks per host and client.
RENDERER_GATE_SPEC = {
    "type": "dict",
    "options": {
        "verified": {"type": "raw"},
        "allow_unverified": {"type": "bool", "default": False},
        "client": {"type": "str"},
        "fail_on": {"type": "str", "default": "error", "choices": ["error", "warning"]},
    },
}


NO_GATE_MESSAGE = (
    "refusing to render without the verify gate: option gate is not set. Set gate.verified to the "
    "mailops_verified fact of the mailops.clients.verify role to render the accounts that verified, or pass "
    "gate: {allow_unverified: true} to render accounts that were not verified"
)


def renderer_gate(accounts: Sequence[Mapping], options: Mapping | None, host: str | None) -> tuple[list, list]:
    """The accounts a renderer may write and the warnings to show; raises VerifyError with the gate's message.

    ``options`` is the action's ``gate`` option. Omitting it is no way around the gate: without it nothing is
    rendered, the caller has to ask for unverified rendering with ``gate: {allow_unverified: true}``.

    The accounts returned are the present ones that passed, then every absent account (``state: absent``, in
    inventory order): a renderer removes what it wrote for those and renders none of them. Absent accounts never
    fail the gate, also when the gate option is missing and no account is present.
    """
    absent = [account for account in accounts if is_absent(account)]
    if options is None and not present(accounts):
        return absent, []
    if options is None:
        raise VerifyError(NO_GATE_MESSAGE)
    verified = options.get("verified")
    if verified is not None and not isinstance(verified, Mapping):
        raise VerifyError("gate.verified must be the mailops_verified dictionary (or null)")
    decision = gate(
        list(accounts),
        verified,
        allow_unverified=bool(options.get("allow_unverified")),
        client=options.get("client"),
        host=host,
        fail_on=options.get("fail_on") or "error",
    )
    if decision["refusals"]:
        raise VerifyError(decision["message"])
    return decision["allowed"] + absent, decision["warnings"]
