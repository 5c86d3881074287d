# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probe plan, result merge, cache entries, reports and the render gate (pure functions)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import normalize_accounts, normalize_fleet
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import (
    SKIPPED_LOGINS,
    VerifyError,
    endpoint_overrides,
    gate,
    host_view,
    login_skip_reason,
    merge,
    plan,
    renderer_gate,
    unmatched_overrides,
    verdict_lines,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_report import report_json, report_junit

SERVERS = {
    "good": {"incoming": {"protocol": "imap", "host": "mail.example.test"}, "outgoing": {"host": "mail.example.test"}},
    "broken": {
        "incoming": {"protocol": "pop3", "host": "pop.example.test", "port": 1995},
        "outgoing": {"host": "mail.example.test"},
    },
    "cram": {
        "incoming": {"protocol": "imap", "host": "mail.example.test", "auth": "password-encrypted"},
        "outgoing": {"host": "mail.example.test"},
    },
}
IMAP = "imap://mail.example.test:993/tls"
POP3 = "pop3://pop.example.test:1995/tls"
SMTP = "smtp://mail.example.test:465/tls"
REFUSED = {
    "code": "connection_refused",
    "severity": "error",
    "stage": "connect",
    "message": "pop.example.test:1995 refused the connection",
    "fix": "check the port and the firewall",
}
AUTH_FAILED = {
    "code": "auth_failed",
    "severity": "error",
    "stage": "auth",
    "message": "the server rejected the credentials of bob@example.test",
    "fix": "check username and password",
}
EXPIRING = {
    "code": "cert_expiring",
    "severity": "warning",
    "stage": "tls",
    "message": "the certificate expires in 10 days",
    "fix": "renew it",
}


def _fleet(**hosts):
    return normalize_fleet({h: (accounts, SERVERS) for h, accounts in hosts.items()})


FLEET = _fleet(
    c1=[{"email": "alice@example.test", "server": "good", "password": "alice-pw"}],
    c2=[
        {"email": "bob@example.test", "server": "good", "password": "wrong-pw"},
        {"email": "carol@example.test", "server": "broken", "password": "carol-pw"},
    ],
    c3=[{"email": "alice@example.test", "server": "good", "password": "alice-pw"}],
)


def _result(probe, verdict="ok", findings=(), accounts=None):
    res = {"item": probe, "changed": False, "verdict": verdict, "findings": list(findings)}
    if accounts is not None:
        res["accounts"] = accounts
    return res


def _results(probes):
    """Results shaped like the *_server_info modules': per-account entries in order, an account_failures summary."""
    out = []
    for probe in probes:
        if probe["key"] == POP3:
            not_checked = {
                "code": "account_not_checked",
                "severity": "error",
                "stage": "auth",
                "message": "not checked: connection_refused",
                "fix": "fix the endpoint first",
            }
            accounts = [
                {
                    "username": a["username"],
                    "verdict": "error",
                    "findings": [not_checked],
                    "login": {"attempted": False, "succeeded": False},
                }
                for a in probe["accounts"]
            ]
            out.append(_result(probe, "error", [REFUSED], accounts))
            continue
        accounts = []
        for a in probe["accounts"]:
            bad = a["password"] == "wrong-pw"
            accounts.append(
                {
                    "username": a["username"],
                    "verdict": "error" if bad else "ok",
                    "findings": [AUTH_FAILED] if bad else [],
                    "login": {"attempted": True, "succeeded": not bad},
                }
            )
        findings = [EXPIRING] if probe["key"] == IMAP else []
        if any(a["verdict"] == "error" for a in accounts):
            findings.append(
                {
                    "code": "account_failures",
                    "severity": "error",
                    "stage": "auth",
                    "message": "1 of 2 accounts failed: bob@example.test",
                    "fix": "see accounts",
                }
            )
        severities = {f["severity"] for f in findings}
        verdict = "error" if "error" in severities else "warning" if "warning" in severities else "ok"
        out.append(_result(probe, verdict, findings, accounts))
    return out


def test_plan_one_probe_per_endpoint_with_batched_deduplicated_credentials():
    probes = plan(
        FLEET,
        credentials=True,
        options={"timeout": 5, "ca_path": "/ca.pem"},
        endpoint_options={"pop.example.test": {"timeout": 2}, POP3: {"server_name": "pop"}},
    )
    assert [(p["key"], p["auth_mechanism"]) for p in probes] == [(IMAP, "auto"), (POP3, "auto"), (SMTP, "auto")]
    imap = probes[0]
    assert imap["accounts"] == [
        {"username": "alice@example.test", "password": "alice-pw"},
        {"username": "bob@example.test", "password": "wrong-pw"},
    ]
    assert [len(r) for r in imap["refs"]] == [2, 1]
    assert imap["options"] == {"ca_path": "/ca.pem", "timeout": 5}
    assert probes[1]["options"] == {"ca_path": "/ca.pem", "server_name": "pop", "timeout": 2}
    assert (imap["cache_key"], imap["cached"]) == (None, None)


def test_plan_without_credentials_carries_no_password():
    probes = plan(FLEET)
    assert [p["accounts"] for p in probes] == [[], [], []]
    assert "pw" not in json.dumps(probes)


def test_plan_splits_by_auth_mechanism():
    fleet = _fleet(
        c1=[
            {"email": "a@example.test", "server": "good", "password": "p1"},
            {"email": "b@example.test", "server": "cram", "password": "p2"},
        ]
    )
    probes = plan(fleet, credentials=True)
    assert [(p["key"], p["auth_mechanism"], [a["username"] for a in p["accounts"]]) for p in probes] == [
        (IMAP, "CRAM-MD5", ["b@example.test"]),
        (IMAP, "auto", ["a@example.test"]),
        (SMTP, "auto", ["a@example.test", "b@example.test"]),
    ]


@pytest.mark.parametrize(
    ("options", "endpoint_options", "message"),
    [
        (
            {"password": "x"},
            {},
            "unknown probe option 'password' for imap://mail.example.test:993/tls; use one of: "
            "validate_certs, ca_path, server_name, timeout, tls_min_version, cert_expiry_warn_days, helo_name",
        ),
        (
            {},
            {IMAP: "strict"},
            "endpoint options for imap://mail.example.test:993/tls must be a dictionary, got a string",
        ),
    ],
)
def test_plan_option_errors(options, endpoint_options, message):
    with pytest.raises(VerifyError, match=f"^{re.escape(message)}$"):
        plan(FLEET, options=options, endpoint_options=endpoint_options)


def test_endpoint_option_keys_are_matched_as_the_plan_writes_endpoints():
    probes = plan(
        FLEET,
        endpoint_options={"IMAP://Mail.Example.TEST:993/TLS": {"timeout": 3}, "POP.example.test": {"timeout": 4}},
    )
    assert [p["options"] for p in probes] == [{"timeout": 3}, {"timeout": 4}, {}]
    assert endpoint_overrides({"imap://::1:993/tls": {}, "[::1]": {}, "Exämple.test": {}}) == {
        "imap://[::1]:993/tls": {},
        "::1": {},
        "xn--exmple-cua.test": {},
    }


@pytest.mark.parametrize(
    ("endpoint_options", "message"),
    [
        (
            {"imap://mail.example.test/tls": {}},
            "mailops_verify_endpoint_options: invalid endpoint key 'imap://mail.example.test/tls'. "
            "Fix: write it as protocol://host:port/security (imap://mail.example.test:993/tls)",
        ),
        (
            {"imaps://mail.example.test:993/tls": {}},
            "mailops_verify_endpoint_options: endpoint key 'imaps://mail.example.test:993/tls' has protocol 'imaps'. "
            "Fix: use one of imap, pop3, smtp",
        ),
        (
            {"imap://mail.example.test:993/ssl": {}},
            "mailops_verify_endpoint_options: endpoint key 'imap://mail.example.test:993/ssl' has security 'ssl'. "
            "Fix: use one of tls, starttls, none",
        ),
        (
            {"imap://mail.example.test:99999/tls": {}},
            "mailops_verify_endpoint_options: endpoint key 'imap://mail.example.test:99999/tls' has port 99999. "
            "Fix: use a port from 1 to 65535",
        ),
        (
            {"mail.example.test": {}, "MAIL.example.test": {"timeout": 1}},
            "mailops_verify_endpoint_options: keys 'mail.example.test' and 'MAIL.example.test' both name "
            "mail.example.test. Fix: merge them into one entry",
        ),
        (
            {"user@mail.example.test": {}},
            "mailops_verify_endpoint_options: invalid key 'user@mail.example.test'. Fix: key the options by a server "
            "host (mail.example.test) or an endpoint key (imap://mail.example.test:993/tls)",
        ),
        (
            ["mail.example.test"],
            "mailops_verify_endpoint_options must be a dictionary keyed by server host or endpoint key, got a list",
        ),
    ],
)
def test_endpoint_option_key_errors(endpoint_options, message):
    with pytest.raises(VerifyError, match=f"^{re.escape(message)}$"):
        plan(FLEET, endpoint_options=endpoint_options)


def test_endpoint_option_keys_that_match_nothing_are_reported():
    probes = plan(FLEET)
    warnings = unmatched_overrides({"imap://mail.example.test:143/tls": {}, "mial.example.test": {}, IMAP: {}}, probes)
    assert warnings == [
        "mailops_verify_endpoint_options: imap://mail.example.test:143/tls matches no endpoint or server host of the "
        "accounts in this play (did you mean imap://mail.example.test:993/tls?); its options apply to nothing",
        "mailops_verify_endpoint_options: mial.example.test matches no endpoint or server host of the accounts in "
        "this play (did you mean mail.example.test?); its options apply to nothing",
    ]


def test_cache_keys_hide_passwords_and_follow_them():
    a = plan(FLEET, credentials=True, ttl=60, now=1000, secret="k1")
    b = plan(FLEET, credentials=True, ttl=60, now=1000, secret="k1")
    assert [p["cache_key"] for p in a] == [p["cache_key"] for p in b]
    assert all(re.fullmatch(r"[0-9a-f]{64}", p["cache_key"]) for p in a)
    changed = _fleet(
        c1=[{"email": "alice@example.test", "server": "good", "password": "new-pw"}],
        c2=FLEET["c2"]
        and [
            {"email": "bob@example.test", "server": "good", "password": "wrong-pw"},
            {"email": "carol@example.test", "server": "broken", "password": "carol-pw"},
        ],
        c3=[{"email": "alice@example.test", "server": "good", "password": "new-pw"}],
    )
    c = plan(changed, credentials=True, ttl=60, now=1000, secret="k1")
    assert [p["cache_key"] for p in c] != [p["cache_key"] for p in a]
    assert plan(FLEET, options={"timeout": 3}, ttl=60)[0]["cache_key"] != plan(FLEET, ttl=60)[0]["cache_key"]
    with pytest.raises(VerifyError, match="^a cache secret is needed to cache credential checks$"):
        plan(FLEET, credentials=True, ttl=60)


def test_merge_verdicts_findings_and_credentials():
    probes = plan(FLEET, credentials=True)
    merged = merge(FLEET, probes, _results(probes), now=1000.0)
    eps = merged["verified"]["endpoints"]
    assert {k: (e["verdict"], [f["code"] for f in e["findings"]]) for k, e in eps.items()} == {
        IMAP: ("warning", ["cert_expiring"]),
        POP3: ("error", ["connection_refused"]),
        SMTP: ("ok", []),
    }
    assert (eps[IMAP]["accounts"], eps[IMAP]["credentials_checked"], eps[POP3]["credentials_checked"]) == (3, 2, 0)
    accounts = merged["verified"]["accounts"]
    assert accounts["c1"]["alice@example.test"] == {
        "email": "alice@example.test",
        "verdict": "warning",
        "reasons": ["cert_expiring"],
        "incoming": IMAP,
        "outgoing": SMTP,
        "credentials": {"incoming": "ok", "outgoing": "ok"},
        "not_checked": {},
        "findings": [{"endpoint": IMAP, **EXPIRING}],
    }
    bob = accounts["c2"]["bob@example.test"]
    assert (bob["verdict"], bob["reasons"], bob["credentials"]) == (
        "error",
        ["auth_failed", "cert_expiring"],
        {"incoming": "failed", "outgoing": "failed"},
    )
    carol = accounts["c2"]["carol@example.test"]
    assert (carol["verdict"], carol["reasons"], carol["credentials"], carol["not_checked"]) == (
        "error",
        ["connection_refused"],
        {"incoming": "not_checked", "outgoing": "ok"},
        {"incoming": "endpoint_failed"},
    )
    assert merged["summary"] == {
        "verdict": "error",
        "endpoints": 3,
        "endpoints_by_verdict": {"ok": 1, "warning": 1, "error": 1},
        "accounts": 4,
        "accounts_by_verdict": {"ok": 0, "warning": 2, "error": 2},
        "credentials": True,
        "probed": 3,
        "cached": 0,
        "hosts_failed": 0,
    }
    assert "pw" not in json.dumps(merged)


def test_plan_never_lists_a_username_twice_in_one_call():
    fleet = _fleet(
        c1=[{"email": "bob@example.test", "server": "good", "password": "right"}],
        c2=[
            {"email": "bob@example.test", "server": "good", "password": "stale"},
            {"email": "alice@example.test", "server": "good", "password": "pa"},
        ],
    )
    probes = plan(fleet, credentials=True)
    assert [(p["key"], p["batch"], [a["password"] for a in p["accounts"]]) for p in probes] == [
        (IMAP, 0, ["right", "pa"]),
        (IMAP, 1, ["stale"]),
        (SMTP, 0, ["right", "pa"]),
        (SMTP, 1, ["stale"]),
    ]
    results = [
        _result(
            p,
            accounts=[
                {
                    "username": a["username"],
                    "verdict": "ok" if a["password"] != "stale" else "error",
                    "findings": [],
                    "login": {"attempted": True, "succeeded": a["password"] != "stale"},
                }
                for a in p["accounts"]
            ],
        )
        for p in probes
    ]
    merged = merge(fleet, probes, results)
    accounts = merged["verified"]["accounts"]
    assert (accounts["c1"]["bob@example.test"]["verdict"], accounts["c2"]["bob@example.test"]["verdict"]) == (
        "ok",
        "error",
    )
    assert merged["summary"]["probed"] == 4


@pytest.mark.parametrize("failed", [True, False], ids=["failed", "failed_when-false"])
def test_merge_module_failure_and_missing_result(failed):
    probes = plan(FLEET)
    # the role registers with failed_when: false, which turns "failed" into false; the missing verdict tells
    results = [{"item": probes[0], "failed": failed, "msg": "ca_path /nope does not exist"}]
    merged = merge(FLEET, probes, results)
    eps = merged["verified"]["endpoints"]
    assert eps[IMAP]["findings"] == [
        {
            "code": "module_failed",
            "severity": "error",
            "stage": "module",
            "message": "ca_path /nope does not exist",
            "fix": "Read the message: a module option (mailops_verify_options, the server definition) was refused, "
            "or the probe host could not run the module (its Python, the collection on it, the connection to it).",
        }
    ]
    assert (
        eps[POP3]["findings"][0]["message"] == "no probe result for pop3://pop.example.test:1995/tls "
        "(the probe task did not run)"
    )


def test_merge_cache_round_trip():
    probes = plan(FLEET, credentials=True, ttl=60, now=1000, secret="k")
    first = merge(FLEET, probes, _results(probes), now=1000.0, ttl=60)
    assert len(first["cache"]["entries"]) == 3
    assert "pw" not in json.dumps(first["cache"])
    again = plan(FLEET, credentials=True, cache=first["cache"], ttl=60, now=1059, secret="k")
    assert all(p["cached"] for p in again)
    second = merge(FLEET, again, [], now=1059.0, cache=first["cache"], ttl=60)
    assert second["summary"]["probed"] == 0 and second["summary"]["cached"] == 3
    assert second["verified"]["accounts"] == first["verified"]["accounts"]
    assert all(e["cached"] and e["checked_at"] == 1000.0 for e in second["verified"]["endpoints"].values())
    assert report_json(second) == report_json(first)
    expired = plan(FLEET, credentials=True, cache=first["cache"], ttl=60, now=1060, secret="k")
    assert not any(p["cached"] for p in expired)
    assert merge(FLEET, expired, _results(expired), now=1060.0, cache=first["cache"], ttl=60)["summary"]["probed"] == 3


def test_verdict_lines():
    probes = plan(FLEET, credentials=True)
    merged = merge(FLEET, probes, _results(probes))
    assert verdict_lines(merged["verified"]) == [
        "imap://mail.example.test:993/tls: error: 3 of 3 accounts: cert_expiring, auth_failed (2 credentials checked)",
        "pop3://pop.example.test:1995/tls: error [connection_refused] (1 account)",
        "smtp://mail.example.test:465/tls: error: 1 of 4 accounts: auth_failed (3 credentials checked)",
    ]
    good = _fleet(c1=[{"email": "alice@example.test", "server": "good", "password": "alice-pw"}])
    probes = plan(good, credentials=True)
    results = [_result(p, accounts=[{"verdict": "ok", "findings": [], "login": {"succeeded": True}}]) for p in probes]
    assert verdict_lines(merge(good, probes, results)["verified"]) == [
        f"{IMAP}: ok (1 account, 1 credentials checked)",
        f"{SMTP}: ok (1 account, 1 credentials checked)",
    ]


def test_reports_parse_and_are_deterministic():
    probes = plan(FLEET, credentials=True)
    merged = merge(FLEET, probes, _results(probes), now=1.0)
    later = merge(FLEET, probes, _results(probes), now=99999.0)
    assert report_json(merged) == report_json(later)
    data = json.loads(report_json(merged))
    assert [e["key"] for e in data["endpoints"]] == [IMAP, POP3, SMTP]
    assert [(a["host"], a["id"], a["verdict"]) for a in data["accounts"]] == [
        ("c1", "alice@example.test", "warning"),
        ("c2", "bob@example.test", "error"),
        ("c2", "carol@example.test", "error"),
        ("c3", "alice@example.test", "warning"),
    ]
    root = ET.fromstring(report_junit(merged).encode())  # noqa: S314 (our own output)
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "7", "3")
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert sorted(cases) == sorted(
        [
            ("mailops.verify.imap", IMAP),
            ("mailops.verify.pop3", POP3),
            ("mailops.verify.smtp", SMTP),
            ("mailops.verify.account.c1", "alice@example.test"),
            ("mailops.verify.account.c2", "bob@example.test"),
            ("mailops.verify.account.c2", "carol@example.test"),
            ("mailops.verify.account.c3", "alice@example.test"),
        ]
    )
    failure = cases[("mailops.verify.pop3", POP3)].find("failure")
    assert failure.get("message") == "connection_refused"
    assert failure.text == (
        "[error] connection_refused (stage connect): pop.example.test:1995 refused the connection"
        "\n    fix: check the port and the firewall"
    )
    assert cases[("mailops.verify.imap", IMAP)].find("failure") is None
    assert "cert_expiring" in cases[("mailops.verify.imap", IMAP)].find("system-out").text


def _verified(host):
    probes = plan(FLEET, credentials=True)
    return host_view(merge(FLEET, probes, _results(probes))["verified"], host)


def test_gate_passes_verified_accounts():
    result = gate(FLEET["c1"], _verified("c1"), client="thunderbird", host="c1")
    assert ([a["id"] for a in result["allowed"]], result["unverified"], result["message"]) == (
        ["alice@example.test"],
        [],
        "",
    )


GATE_REFUSAL = (
    "thunderbird: refusing to render 2 accounts on c2 whose settings did not verify (bob@example.test, "
    "carol@example.test); fix the findings below or set mailops_allow_unverified: true to render anyway:\n"
    "- endpoint pop3://pop.example.test:1995/tls verdict error (used by carol@example.test):\n"
    "    [error] connection_refused (connect): pop.example.test:1995 refused the connection Fix: check the port and "
    "the firewall\n"
    "- credentials of bob@example.test (incoming, user bob@example.test) rejected by "
    "imap://mail.example.test:993/tls: [error] auth_failed (auth): the server rejected the credentials of "
    "bob@example.test Fix: check username and password\n"
    "- credentials of bob@example.test (outgoing, user bob@example.test) rejected by "
    "smtp://mail.example.test:465/tls: [error] auth_failed (auth): the server rejected the credentials of "
    "bob@example.test Fix: check username and password"
)


def test_gate_refuses_with_every_failing_endpoint_and_finding():
    result = gate(FLEET["c2"], _verified("c2"), client="thunderbird", host="c2")
    assert (result["allowed"], result["unverified"], result["warnings"]) == (
        [],
        ["bob@example.test", "carol@example.test"],
        [],
    )
    assert result["message"] == GATE_REFUSAL
    assert result["refusals"] == GATE_REFUSAL.split("\n")[1:]


def test_gate_override_renders_and_warns():
    result = gate(FLEET["c2"], _verified("c2"), allow_unverified=True, client="thunderbird", host="c2")
    assert [a["id"] for a in result["allowed"]] == ["bob@example.test", "carol@example.test"]
    assert result["refusals"] == []
    assert result["warnings"] == [result["message"]]
    assert result["message"] == GATE_REFUSAL.replace(
        "refusing to render 2 accounts on c2 whose settings did not verify (bob@example.test, carol@example.test); "
        "fix the findings below or set mailops_allow_unverified: true to render anyway:",
        "rendering 2 accounts on c2 whose settings did not verify (bob@example.test, carol@example.test), "
        "because mailops_allow_unverified is true:",
    )


def test_gate_fail_on_warning():
    result = gate(FLEET["c1"], _verified("c1"), fail_on="warning")
    assert result["message"] == (
        "refusing to render 1 account whose settings did not verify (alice@example.test); fix the findings below or "
        "set mailops_allow_unverified: true to render anyway:\n"
        "- endpoint imap://mail.example.test:993/tls verdict warning (used by alice@example.test):\n"
        "    [warning] cert_expiring (tls): the certificate expires in 10 days Fix: renew it"
    )
    with pytest.raises(VerifyError, match="^fail_on must be error or warning, got 'never'$"):
        gate(FLEET["c1"], _verified("c1"), fail_on="never")


@pytest.mark.parametrize("verified", [None, {}, {"endpoints": {}, "accounts": {}}])
def test_gate_without_verification(verified):
    result = gate(FLEET["c1"], verified, client="outlook", host="c1")
    assert result["message"] == (
        "outlook: refusing to render 1 account on c1 whose settings did not verify (alice@example.test); fix the "
        "findings below or set mailops_allow_unverified: true to render anyway:\n"
        "- endpoint imap://mail.example.test:993/tls was not verified (used by alice@example.test): run the "
        "mailops.clients.verify role for this host earlier in the play\n"
        "- endpoint smtp://mail.example.test:465/tls was not verified (used by alice@example.test): run the "
        "mailops.clients.verify role for this host earlier in the play"
    )


def test_renderer_gate_allows_refuses_warns_and_needs_the_gate_option():
    allowed, warnings = renderer_gate(FLEET["c1"], {"verified": _verified("c1"), "client": "thunderbird"}, "c1")
    assert ([a["id"] for a in allowed], warnings) == (["alice@example.test"], [])
    with pytest.raises(VerifyError) as refused:
        renderer_gate(FLEET["c2"], {"verified": _verified("c2"), "client": "thunderbird"}, "c2")
    assert str(refused.value) == GATE_REFUSAL
    allowed, warnings = renderer_gate(
        FLEET["c2"], {"verified": _verified("c2"), "client": "thunderbird", "allow_unverified": True}, "c2"
    )
    assert [a["id"] for a in allowed] == ["bob@example.test", "carol@example.test"]
    assert warnings == [gate(FLEET["c2"], _verified("c2"), True, "thunderbird", "c2")["message"]]
    # no gate option is no way around the gate
    with pytest.raises(VerifyError) as refused:
        renderer_gate(FLEET["c2"], None, "c2")
    assert str(refused.value) == (
        "refusing to render without the verify gate: option gate is not set. Set gate.verified to the "
        "mailops_verified fact of the mailops.clients.verify role to render the accounts that verified, or pass "
        "gate: {allow_unverified: true} to render accounts that were not verified"
    )
    allowed, warnings = renderer_gate(FLEET["c1"], {"allow_unverified": True}, "c1")
    assert ([a["id"] for a in allowed], len(warnings)) == (["alice@example.test"], 1)
    assert warnings[0].startswith("rendering 1 account on c1 whose settings did not verify (alice@example.test)")
    with pytest.raises(VerifyError, match=r"^gate.verified must be the mailops_verified dictionary \(or null\)$"):
        renderer_gate(FLEET["c1"], {"verified": "yes"}, "c1")


def test_gate_changed_settings_do_not_match_old_results():
    moved = _fleet(
        c1=[
            {
                "email": "alice@example.test",
                "incoming": {"protocol": "imap", "host": "mail.example.test", "port": 10993},
                "outgoing": {"host": "mail.example.test"},
            }
        ]
    )
    result = gate(moved["c1"], _verified("c1"))
    assert result["unverified"] == ["alice@example.test"]
    assert result["refusals"][0].startswith("- endpoint imap://mail.example.test:10993/tls was not verified")


# --- the one rule: logins that were to be checked must have succeeded ------------------------------------------
SUBMISSION = "smtp://mail.example.test:587/starttls"
NOAUTH_SERVERS = {
    "noauth": {
        "incoming": {"protocol": "imap", "host": "mail.example.test"},
        "outgoing": {"host": "mail.example.test", "port": 587, "security": "starttls"},
    }
}
NO_AUTH_ENDPOINT = {
    "code": "auth_not_offered",
    "severity": "warning",
    "stage": "capabilities",
    "message": "the server offers no authentication on this connection",
    "fix": "Enable SASL authentication on this port",
}
NO_AUTH_ACCOUNT = {**NO_AUTH_ENDPOINT, "severity": "error", "stage": "auth"}


def _noauth_run(accounts, credentials=True, reported=True):
    """One host on a server whose submission port offers no AUTH, as the smtp module reports it."""
    fleet = normalize_fleet({"c1": (accounts, NOAUTH_SERVERS)})
    probes = plan(fleet, credentials=credentials)
    results = []
    for probe in probes:
        ok = {"verdict": "ok", "findings": [], "login": {"attempted": True, "succeeded": True}}
        if probe["key"] != SUBMISSION:
            results.append(_result(probe, accounts=[ok for _unused in probe["accounts"]]))
            continue
        refused = {"verdict": "error", "findings": [NO_AUTH_ACCOUNT], "login": {"attempted": False, "succeeded": False}}
        entries = [refused for _unused in probe["accounts"]] if reported else []
        results.append(_result(probe, "warning", [NO_AUTH_ENDPOINT], entries))
    return fleet, merge(fleet, probes, results, credentials=credentials)


@pytest.mark.parametrize(
    ("account", "credentials", "reported", "expected"),
    [
        # a login that was asked for and did not happen blocks, with its reason
        ({"password": "pw"}, True, True, ("error", ["auth_not_offered"], {"outgoing": "auth_not_offered"})),
        (
            {"password": "pw"},
            True,
            False,
            ("error", ["auth_not_offered", "login_not_reported"], {"outgoing": "login_not_reported"}),
        ),
        # nothing was asked: endpoint-level verification only (the endpoint's warning stays a warning)
        (
            {"password": "pw"},
            False,
            True,
            ("warning", ["auth_not_offered"], dict.fromkeys(("incoming", "outgoing"), "credential_checks_off")),
        ),
        ({}, True, True, ("warning", ["auth_not_offered"], dict.fromkeys(("incoming", "outgoing"), "no_password"))),
    ],
    ids=["no-auth", "login-not-reported", "credential-checks-off", "no-password"],
)
def test_not_checked_blocks_only_when_the_login_was_asked_for(account, credentials, reported, expected):
    fleet, merged = _noauth_run([{"email": "dave@example.test", "server": "noauth", **account}], credentials, reported)
    entry = merged["verified"]["accounts"]["c1"]["dave@example.test"]
    assert (entry["verdict"], entry["reasons"], entry["not_checked"]) == expected
    view = host_view(merged["verified"], "c1")
    decision = gate(fleet["c1"], view, client="outlook", host="c1")
    assert decision["unverified"] == (["dave@example.test"] if expected[0] == "error" else [])
    data = json.loads(report_json(merged))
    assert (data["accounts"][0]["verdict"], data["accounts"][0]["reasons"]) == expected[:2]
    root = ET.fromstring(report_junit(merged).encode())  # noqa: S314 (our own output)
    case = next(c for c in root.iter("testcase") if c.get("name") == "dave@example.test")
    failure = case.find("failure")
    # the failure names the error findings' codes and the verdict's reasons
    assert (set(failure.get("message").split(", ")) if failure is not None else None) == (
        set(expected[1]) if expected[0] == "error" else None
    )
    line = next(li for li in verdict_lines(merged["verified"]) if li.startswith(SUBMISSION))
    if expected[0] == "error":  # the account fares worse than the endpoint (a warning)
        assert line == f"{SUBMISSION}: error: 1 of 1 account: {', '.join(expected[1])}"
    else:
        assert line == f"{SUBMISSION}: warning [auth_not_offered] (1 account)"


def test_gate_names_a_login_that_could_not_be_checked():
    fleet, merged = _noauth_run(
        [
            {"email": "dave@example.test", "server": "noauth", "password": "pw"},
            {"email": "erin@example.test", "server": "noauth"},
        ]
    )
    assert verdict_lines(merged["verified"]) == [
        f"{IMAP}: ok (2 accounts, 1 credentials checked)",
        f"{SUBMISSION}: error: 2 of 2 accounts: auth_not_offered",
    ]
    with pytest.raises(VerifyError) as refused:
        renderer_gate(fleet["c1"], {"verified": host_view(merged["verified"], "c1"), "client": "apple_mail"}, "c1")
    assert str(refused.value) == (
        "apple_mail: refusing to render 1 account on c1 whose settings did not verify (dave@example.test); fix the "
        "findings below or set mailops_allow_unverified: true to render anyway:\n"
        f"- credentials of dave@example.test (outgoing, user dave@example.test) could not be checked at {SUBMISSION} "
        "(auth_not_offered): [error] auth_not_offered (auth): the server offers no authentication on this connection "
        "Fix: Enable SASL authentication on this port"
    )


def test_gate_refuses_an_account_whose_login_was_never_checked():
    # verified with credential checks, then a new account appears on the host (same endpoints)
    probes = plan(FLEET, credentials=True)
    view = host_view(merge(FLEET, probes, _results(probes))["verified"], "c1")
    newcomer = _fleet(c1=[{"email": "dave@example.test", "server": "good", "password": "dave-pw"}])["c1"]
    result = gate(newcomer, view)
    assert result["unverified"] == ["dave@example.test"]
    assert result["refusals"][-1] == (
        f"- credentials of dave@example.test (outgoing, user dave@example.test) were not checked at {SMTP} with "
        "these settings (not_verified): run the mailops.clients.verify role for this host earlier in the play"
    )
    # without a password nothing was to be checked: the endpoints' verdicts decide
    nopw = _fleet(c1=[{"email": "dave@example.test", "server": "good"}])["c1"]
    assert gate(nopw, view)["unverified"] == []


@pytest.mark.parametrize(
    ("auth", "password", "credentials", "expected"),
    [
        ("password", "pw", True, None),
        ("password-encrypted", "pw", True, None),
        ("password", None, True, "no_password"),
        ("password", "pw", False, "credential_checks_off"),
        ("oauth2", None, True, "auth_oauth2"),
        ("ntlm", "pw", True, "auth_ntlm"),
        ("gssapi", "pw", True, "auth_gssapi"),
        ("none", None, True, "auth_none"),
    ],
)
def test_login_skip_reason(auth, password, credentials, expected):
    assert login_skip_reason({"auth": auth}, password, credentials) == expected
    assert expected is None or expected in SKIPPED_LOGINS


def test_reports_list_hosts_that_failed_before_verification_and_partial_runs():
    good = _fleet(c1=[{"email": "alice@example.test", "server": "good"}])
    probes = plan(good)
    dropped = {"c9": "host c9, account x (mailops_accounts[0]), field sever: unknown key 'sever'."}
    ansible = {
        "c9": "Task failed: The filter plugin 'mailops.clients.mail_inventory_normalize' failed: " + dropped["c9"]
    }
    merged = merge(good, probes, [_result(p) for p in probes], dropped=ansible)
    assert (merged["summary"]["verdict"], merged["summary"]["hosts_failed"]) == ("error", 1)
    data = json.loads(report_json(merged))
    assert data["hosts"] == [{"host": "c9", "verdict": "error", "message": dropped["c9"]}]
    assert "partial" not in data
    root = ET.fromstring(report_junit(merged).encode())  # noqa: S314 (our own output)
    assert (root.get("tests"), root.get("failures")) == ("4", "1")
    case = next(c for c in root.iter("testcase") if c.get("classname") == "mailops.verify.host")
    assert (case.get("name"), case.find("failure").get("message"), case.find("failure").text) == (
        "c9",
        "failed before verification",
        dropped["c9"],
    )
    partial = json.loads(report_json(merged, ["c1", "c9"]))
    assert partial["partial"] == {"hosts": ["c1", "c9"]}
    root = ET.fromstring(report_junit(merged, ["c9", "c1"]).encode())  # noqa: S314 (our own output)
    assert {p.get("value") for p in root.iter("property") if p.get("name") == "partial.hosts"} == {"c1,c9"}


def test_plan_passes_the_insecure_opt_in_of_a_cleartext_endpoint_to_the_module():
    servers = {
        "plain": {
            "incoming": {"protocol": "imap", "host": "10.0.0.1", "security": "none"},
            "outgoing": {"host": "10.0.0.1", "security": "starttls"},
            "allow_insecure": True,
        }
    }
    fleet = {"h1": normalize_accounts([{"email": "p@example.test", "server": "plain"}], servers)}
    probes = plan(fleet, options={"timeout": 5})
    # only the cleartext endpoint carries it; STARTTLS needs no opt-in
    assert [(p["security"], p["options"]) for p in probes] == [
        ("none", {"allow_insecure": True, "timeout": 5}),
        ("starttls", {"timeout": 5}),
    ]


def test_gate_warns_per_endpoint_whose_certificate_was_not_verified():
    verified = _verified("c1")
    assert gate(FLEET["c1"], verified, client="apple_mail", host="c1")["warnings"] == []
    verified["endpoints"][IMAP]["certificate"] = dict(
        verified["endpoints"][IMAP]["certificate"] or {}, chain_verified=False
    )
    result = gate(FLEET["c1"], verified, client="apple_mail", host="c1")
    assert [a["id"] for a in result["allowed"]] == ["alice@example.test"]
    assert result["warnings"] == [
        f"apple_mail: rendering alice@example.test for {IMAP}, whose certificate was not verified "
        "(validate_certs: false): the mail client verifies it and refuses the connection if it is not trusted"
    ]


def test_absent_accounts_are_never_probed_reported_or_gated_and_come_last_from_the_renderer_gate():
    fleet = _fleet(
        c1=[
            {"email": "gone@example.test", "server": "broken", "password": "x", "state": "absent", "user": "g"},
            {"email": "alice@example.test", "server": "good", "password": "alice-pw"},
            {"email": "old@example.test", "server": "decommissioned", "state": "absent"},
        ]
    )
    probes = plan(fleet, credentials=True)
    # the broken POP3 server is used only by the absent account: not probed
    assert sorted(p["key"] for p in probes) == [IMAP, SMTP]
    assert [ref["id"] for p in probes for refs in p["refs"] for ref in refs] == ["alice@example.test"] * 2
    merged = merge(fleet, probes, _results(probes))
    assert list(merged["verified"]["accounts"]["c1"]) == ["alice@example.test"]
    assert [a["id"] for a in json.loads(report_json(merged))["accounts"]] == ["alice@example.test"]
    verified = host_view(merged["verified"], "c1")
    decision = gate(fleet["c1"], verified, client="apple_mail", host="c1")
    assert ([a["id"] for a in decision["allowed"]], decision["unverified"]) == (["alice@example.test"], [])
    allowed, warnings = renderer_gate(fleet["c1"], {"verified": verified}, "c1")
    assert [(a["id"], a["state"]) for a in allowed] == [
        ("alice@example.test", "present"),
        ("gone@example.test", "absent"),
        ("old@example.test", "absent"),
    ]
    assert warnings == []
    # an unverified present account still blocks; the absent ones do not make it pass
    with pytest.raises(VerifyError, match="^refusing to render 1 account on c1 "):
        renderer_gate(fleet["c1"], {"verified": None}, "c1")
    # only absent accounts: nothing to verify, nothing blocks, with or without the gate option
    only_absent = [a for a in fleet["c1"] if a["state"] == "absent"]
    assert renderer_gate(only_absent, {"verified": None}, "c1") == (only_absent, [])
    assert renderer_gate(only_absent, None, "c1") == (only_absent, [])
