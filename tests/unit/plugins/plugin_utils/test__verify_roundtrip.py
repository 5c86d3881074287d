# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verify role's round trips as pure functions: selection, plan, merge into the verified results, reports,
and the gate's decision on them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from ansible_collections.mailops.clients.plugins.module_utils._findings import make_finding
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import (
    InventoryError,
    endpoints,
    normalize_accounts,
    normalize_fleet,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import gate, merge, plan, verdict_lines
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_report import report_json, report_junit
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_roundtrip import (
    CHECK_MODE_REASON,
    lines,
    select,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_roundtrip import merge as merge_trips
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_roundtrip import plan as plan_trips

SERVERS = {
    "on": {
        "incoming": {"protocol": "imap", "host": "mail.example.test"},
        "outgoing": {"host": "mail.example.test"},
        "roundtrip": True,
    },
    "plain": {"incoming": {"protocol": "pop3", "host": "pop.example.test"}, "outgoing": {"host": "mail.example.test"}},
}
IMAP = "imap://mail.example.test:993/tls"
POP3 = "pop3://pop.example.test:995/tls"
SMTP = "smtp://mail.example.test:465/tls"


def _fleet(default=False, **hosts):
    return select(normalize_fleet({h: (accounts, SERVERS) for h, accounts in hosts.items()}), default)


def test_the_most_specific_setting_wins():
    fleet = _fleet(
        default=False,
        c1=[
            {"email": "a@example.test", "server": "on", "password": "pw"},
            {"email": "b@example.test", "server": "on", "password": "pw", "roundtrip": False},
            {"email": "c@example.test", "server": "plain", "password": "pw"},
            {"email": "d@example.test", "server": "plain", "password": "pw", "roundtrip": "yes"},
        ],
    )
    assert [a["roundtrip"] for a in fleet["c1"]] == [True, False, False, True]
    fleet = _fleet(default=True, c1=[{"email": "c@example.test", "server": "plain", "password": "pw"}])
    assert fleet["c1"][0]["roundtrip"] is True


def test_roundtrip_must_be_a_bool():
    with pytest.raises(InventoryError, match=r"roundtrip: expected true or false, got 'sometimes'"):
        normalize_accounts([{"email": "a@example.test", "server": "on", "roundtrip": "sometimes"}], SERVERS, "c1")


def test_a_round_trip_implies_the_credential_check():
    fleet = _fleet(
        c1=[
            {"email": "a@example.test", "server": "on", "password": "pw-a"},
            {"email": "c@example.test", "server": "plain", "password": "pw-c"},
        ]
    )
    users = {ep["key"]: [c["username"] for c in ep["credentials"]] for ep in endpoints(fleet, credentials=False)}
    assert users == {IMAP: ["a@example.test"], POP3: [], SMTP: ["a@example.test"]}


def _verified(fleet, ok_users=("a@example.test", "b@example.test")):
    probes = plan(fleet, credentials=False)
    results = []
    for probe in probes:
        accounts = [
            {
                "username": a["username"],
                "verdict": "ok" if a["username"] in ok_users else "error",
                "findings": []
                if a["username"] in ok_users
                else [
                    make_finding("auth_failed", username=a["username"], mechanism="PLAIN", reply="no").as_dict()
                ],  # fmt: skip
                "login": {"attempted": True, "succeeded": a["username"] in ok_users},
            }
            for a in probe["accounts"]
        ]
        results.append({"item": probe, "verdict": "ok", "findings": [], "accounts": accounts})
    return merge(fleet, probes, results, credentials=False)


FLEET = _fleet(
    c1=[{"email": "a@example.test", "server": "on", "password": "pw-a"}],
    c2=[
        {"email": "a@example.test", "server": "on", "password": "pw-a"},  # the same account: one round trip
        {"email": "b@example.test", "server": "on", "password": "pw-b"},
        {"email": "x@example.test", "server": "on", "password": "wrong"},
        {"email": "n@example.test", "server": "on"},
    ],
)


def test_plan_one_round_trip_per_account_and_the_reasons_for_none():
    merged = _verified(FLEET)
    trips = plan_trips(FLEET, merged["verified"], options={"timeout": 7, "ca_path": "/ca.pem"})
    assert [(t["email"], [r["host"] for r in t["refs"]], t["skip"]) for t in trips] == [
        ("a@example.test", ["c1", "c2"], None),
        ("b@example.test", ["c2"], None),
        ("x@example.test", ["c2"], "its incoming login was not successful (failed)"),
        ("n@example.test", ["c2"], "the account has no password"),
    ]
    call = trips[0]["call"]
    assert call["smtp"] == {
        "host": "mail.example.test",
        "port": 465,
        "security": "tls",
        "username": "a@example.test",
        "password": "pw-a",
        "auth_mechanism": "auto",
        "timeout": 7,
        "ca_path": "/ca.pem",
    }
    assert call["mailbox"]["protocol"] == "imap" and call["from_address"] == "a@example.test"
    assert "call" not in trips[2] and "call" not in trips[3]


def _outcome(status, findings=(), latency=None):
    return {
        "status": status,
        "sent": status != "not_sent",
        "delivered": status == "delivered",
        "latency_ms": latency,
        "deleted": True,
        "message_id": "<mailops-roundtrip.0123@example.test>",
        "smtp_response": "2.0.0 Ok: queued as ABC",
        "findings": list(findings),
        "verdict": "ok",
        "timings_ms": {},
    }


def _merged_with(outcomes, check_mode=False):
    merged = _verified(FLEET)
    merged["lines"] = verdict_lines(merged["verified"])
    trips = plan_trips(FLEET, merged["verified"])
    results = {t["key"]: outcomes.get(t["email"]) for t in trips if t.get("call")}
    return merge_trips(merged, trips, results, check_mode=check_mode), trips


def test_a_delivered_round_trip_keeps_the_account_ok_and_reports_the_latency():
    out, _trips = _merged_with(
        {"a@example.test": _outcome("delivered", latency=812.5), "b@example.test": _outcome("delivered", latency=90.0)}
    )
    entry = out["verified"]["accounts"]["c1"]["a@example.test"]
    assert (entry["verdict"], entry["roundtrip"]["status"], entry["roundtrip"]["latency_ms"]) == (
        "ok",
        "delivered",
        812.5,
    )
    assert out["summary"]["roundtrips"]["delivered"] == 2
    report = json.loads(report_json(out))
    [acc] = [a for a in report["accounts"] if a["host"] == "c1"]
    assert acc["roundtrip"]["latency_ms"] == 812.5 and acc["roundtrip"]["status"] == "delivered"
    junit = ET.fromstring(report_junit(out))  # noqa: S314 (our own report)
    props = {
        (case.get("classname"), case.get("name")): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in junit.iter("testcase")
    }
    assert props[("mailops.verify.account.c1", "a@example.test")]["roundtrip.latency_ms"] == "812.5"
    assert "round trip c1 a@example.test: delivered in 0.81 s" in lines(out)


@pytest.mark.parametrize(
    ("status", "code", "params"),
    [
        ("not_delivered", "delivery_timeout", {"wait": "6"}),
        ("not_sent", "message_rejected", {"command": "RCPT TO", "reply": "550 no"}),
        (
            "delivered_elsewhere",
            "roundtrip_delivered_elsewhere",
            {"recipient": "b@example.test", "found_user": "a@example.test", "found_at": IMAP, "deleted": "yes"},
        ),
    ],
)
def test_a_failed_round_trip_fails_the_account_everywhere(status, code, params):
    finding = dict(make_finding(code, **params).as_dict(), endpoint=SMTP if code == "message_rejected" else IMAP)
    out, _trips = _merged_with({"a@example.test": _outcome("delivered"), "b@example.test": _outcome(status, [finding])})
    entry = out["verified"]["accounts"]["c2"]["b@example.test"]
    assert (entry["verdict"], entry["reasons"]) == ("error", [code])
    assert out["summary"]["verdict"] == "error"
    where = finding["endpoint"]
    assert any(line.startswith(f"{where}: error: ") and code in line for line in verdict_lines(out["verified"]))
    # the gate refuses the account, with the finding in its message
    account = next(a for a in FLEET["c2"] if a["id"] == "b@example.test")
    decision = gate([account], {**out["verified"], "accounts": out["verified"]["accounts"]["c2"]}, client="thunderbird")
    assert decision["unverified"] == ["b@example.test"] and code in decision["message"]
    junit = ET.fromstring(report_junit(out))  # noqa: S314 (our own report)
    [case] = [
        c
        for c in junit.iter("testcase")
        if c.get("classname") == "mailops.verify.account.c2" and c.get("name") == "b@example.test"
    ]
    assert case.find("failure").get("message") == code


def test_check_mode_reports_the_round_trip_as_not_run_and_blocks_nothing():
    out, _trips = _merged_with({}, check_mode=True)
    entry = out["verified"]["accounts"]["c1"]["a@example.test"]
    assert (entry["verdict"], entry["roundtrip"]["status"], entry["roundtrip"]["reason"]) == (
        "ok",
        "not_run",
        CHECK_MODE_REASON,
    )
    account = FLEET["c1"][0]
    assert gate([account], {**out["verified"], "accounts": out["verified"]["accounts"]["c1"]})["unverified"] == []


def test_a_module_failure_is_an_error_of_each_round_trip_that_should_have_run():
    merged = _verified(FLEET)
    trips = plan_trips(FLEET, merged["verified"])
    out = merge_trips(merged, trips, {}, module_message="boom")
    entry = out["verified"]["accounts"]["c2"]["b@example.test"]
    assert entry["verdict"] == "error" and entry["reasons"] == ["module_failed"]
    # an account without a password had no round trip to fail
    assert out["verified"]["accounts"]["c2"]["n@example.test"]["roundtrip"]["status"] == "not_run"


def test_round_trips_are_cached_without_passwords():
    merged = _verified(FLEET)
    trips = plan_trips(FLEET, merged["verified"], ttl=600, now=1000.0, secret="k" * 64)
    results = {t["key"]: _outcome("delivered", latency=5.0) for t in trips if t.get("call")}
    out = merge_trips(merged, trips, results, now=1000.0, ttl=600)
    text = json.dumps(out["cache"])
    assert "pw-a" not in text and "pw-b" not in text
    again = plan_trips(FLEET, merged["verified"], cache=out["cache"], ttl=600, now=1100.0, secret="k" * 64)
    assert [bool(t["cached"]) for t in again if t.get("call")] == [True, True]
    second = merge_trips(merged, again, {}, now=1100.0, ttl=600)
    assert second["verified"]["accounts"]["c1"]["a@example.test"]["roundtrip"]["cached"] is True
    assert second["verified"]["accounts"]["c1"]["a@example.test"]["roundtrip"]["latency_ms"] == 5.0
