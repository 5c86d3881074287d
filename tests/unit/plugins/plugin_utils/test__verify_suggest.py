# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
""" "Did you mean" in verify: which domains are asked, how a suggestion lands in findings, lines and reports."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET

import pytest
from ansible_collections.mailops.clients.plugins.filter._verify_suggest import verify_suggest
from ansible_collections.mailops.clients.plugins.filter._verify_suggest_targets import verify_suggest_targets
from ansible_collections.mailops.clients.plugins.plugin_utils._discovery import OWN_SOURCES
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import normalize_fleet
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import gate, merge, plan, verdict_lines
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_report import report_json, report_junit
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_suggest import (
    SUGGEST_CODES,
    apply_suggestions,
    endpoint_suggestions,
    report_partial_hosts,
    suggest_targets,
)

SERVERS = {
    "good": {"incoming": {"protocol": "imap", "host": "mail.a.test"}, "outgoing": {"host": "mail.a.test"}},
    # IMAP on the implicit-TLS port asked for with STARTTLS: the server starts with a TLS handshake
    "wrong_mode": {
        "incoming": {"protocol": "imap", "host": "mail.a.test", "port": 993, "security": "starttls"},
        "outgoing": {"host": "mail.a.test"},
    },
}
IMAP = "imap://mail.a.test:993/tls"
WRONG = "imap://mail.a.test:993/starttls"
SMTP = "smtp://mail.a.test:465/tls"
TLS_ON_PLAIN = {
    "code": "tls_on_plaintext_port",
    "severity": "error",
    "stage": "banner",
    "message": "the server sent no plaintext greeting but completed a TLS handshake (TLSv1.3): port 993 expects "
    "implicit TLS",
    "fix": "Use security tls for port 993.",
}
EXPIRED = {"code": "cert_expired", "severity": "error", "stage": "tls", "message": "expired", "fix": "renew"}
HINT = "mail.a.test:993 tls verified (source: srv) — set security tls"


def _candidate(host, port, security, source="srv", verified=True, protocol="imap", direction="incoming"):
    return {
        "direction": direction,
        "protocol": protocol,
        "host": host,
        "port": port,
        "security": security,
        "source": source,
        "verified": verified,
    }


def _discovered(email, *candidates):
    return {"email": email, "candidates": list(candidates)}


def _merged(hosts, findings_at, credentials=False, partial=None):
    fleet = normalize_fleet({h: (accounts, SERVERS) for h, accounts in hosts.items()})
    probes = plan(fleet, credentials=credentials)
    results = []
    for probe in probes:
        findings = findings_at.get(probe["key"], [])
        verdict = "error" if any(f["severity"] == "error" for f in findings) else "ok"
        results.append({"item": probe, "changed": False, "verdict": verdict, "findings": findings})
    merged = merge(fleet, probes, results)
    merged["lines"] = verdict_lines(merged["verified"])
    merged["report_json"] = report_json(merged, partial)
    merged["report_junit"] = report_junit(merged, partial)
    return merged


FLEET = {
    "c1": [{"email": "alice@a.test", "server": "wrong_mode"}],
    "c2": [{"email": "bob@a.test", "server": "wrong_mode"}, {"email": "bob@b.test", "server": "good"}],
    "c3": [{"email": "carol@c.test", "server": "good"}],
}


@pytest.mark.parametrize(
    ("findings_at", "emails"),
    [
        # the accounts at the failing endpoint: one address per domain, the first by host and id
        ({WRONG: [TLS_ON_PLAIN]}, ["alice@a.test"]),
        # a fault no other settings fix (certificate expired): nothing is asked
        ({IMAP: [EXPIRED]}, []),
        # every account at the failing endpoint: three domains, sorted by domain
        ({IMAP: [dict(TLS_ON_PLAIN, code="connection_refused")]}, ["bob@b.test", "carol@c.test"]),
        # a warning is no failure
        ({IMAP: [dict(TLS_ON_PLAIN, severity="warning")]}, []),
        ({}, []),
    ],
)
def test_targets(findings_at, emails):
    targets = suggest_targets(_merged(FLEET, findings_at)["verified"])
    assert targets == {"emails": emails, "sources": list(OWN_SOURCES)}
    assert "ispdb" not in targets["sources"] and "mx" not in targets["sources"]


def test_the_codes_are_catalogue_codes():
    from ansible_collections.mailops.clients.plugins.module_utils._findings import CATALOGUE

    assert set(CATALOGUE) >= SUGGEST_CODES


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([_discovered("alice@a.test", _candidate("mail.a.test", 993, "tls"))], {WRONG: HINT}),
        # the domain's result is found whatever address asked (case of the domain included)
        ([_discovered("x@A.TEST", _candidate("mail.a.test", 993, "tls"))], {WRONG: HINT}),
        # nothing verified, or no result for the domain: no suggestion
        ([_discovered("alice@a.test", _candidate("mail.a.test", 993, "tls", verified=False))], {}),
        ([_discovered("carol@c.test", _candidate("mail.a.test", 993, "tls"))], {}),
        # cleartext is never proposed, even when it is all that verified
        ([_discovered("alice@a.test", _candidate("mail.a.test", 143, "none"))], {}),
        (
            [
                _discovered(
                    "alice@a.test", _candidate("mail.a.test", 143, "none"), _candidate("mail.a.test", 993, "tls")
                )
            ],
            {WRONG: HINT},
        ),
        ([], {}),
    ],
)
def test_endpoint_suggestions(results, expected):
    verified = _merged(FLEET, {WRONG: [TLS_ON_PLAIN]})["verified"]
    assert endpoint_suggestions(verified, results) == expected


def test_domains_that_disagree_get_one_suggestion_each():
    verified = _merged(FLEET, {IMAP: [dict(TLS_ON_PLAIN, code="connection_refused")]})["verified"]
    results = [
        _discovered("bob@b.test", _candidate("imap.b.test", 993, "tls", source="autoconfig")),
        _discovered("carol@c.test", _candidate("mail.c.test", 993, "tls")),
    ]
    assert endpoint_suggestions(verified, results) == {
        IMAP: "for b.test: imap.b.test:993 tls verified (source: autoconfig) — set host imap.b.test; "
        "for c.test: mail.c.test:993 tls verified (source: srv) — set host mail.c.test"
    }
    same = [_discovered("bob@b.test", _candidate("mail.x.test", 993, "tls")), _discovered("carol@c.test")]
    hint = "mail.x.test:993 tls verified (source: srv) — set host mail.x.test"
    assert endpoint_suggestions(verified, same) == {IMAP: hint}


def test_apply_marks_the_endpoint_and_account_findings_on_a_copy():
    merged = _merged(FLEET, {WRONG: [TLS_ON_PLAIN]})
    before = copy.deepcopy(merged)
    out = apply_suggestions(merged, {WRONG: HINT})
    assert merged == before  # the input (and its cache document) is not touched
    assert out["cache"] == merged["cache"]
    assert out["verified"]["endpoints"][WRONG]["findings"] == [dict(TLS_ON_PLAIN, suggestion=HINT)]
    alice = out["verified"]["accounts"]["c1"]["alice@a.test"]
    assert [f.get("suggestion") for f in alice["findings"] if f["endpoint"] == WRONG] == [HINT]
    assert all("suggestion" not in f for f in out["verified"]["endpoints"][SMTP]["findings"])


def test_the_line_the_reports_and_the_gate_carry_the_suggestion():
    merged = _merged(FLEET, {WRONG: [TLS_ON_PLAIN]}, partial=["c1", "c2"])
    results = [_discovered("alice@a.test", _candidate("mail.a.test", 993, "tls"))]
    out = verify_suggest(merged, results)
    assert f"{WRONG}: error [tls_on_plaintext_port] (2 accounts); did you mean {HINT}" in out["lines"]
    assert [line for line in out["lines"] if "did you mean" in line] == [
        f"{WRONG}: error [tls_on_plaintext_port] (2 accounts); did you mean {HINT}"
    ]
    data = json.loads(out["report_json"])
    assert data["partial"] == {"hosts": ["c1", "c2"]}  # the partial hosts the merge used
    [ep] = [e for e in data["endpoints"] if e["key"] == WRONG]
    assert ep["findings"][0]["suggestion"] == HINT
    [acc] = [a for a in data["accounts"] if a["id"] == "alice@a.test"]
    assert acc["findings"][0]["suggestion"] == HINT
    assert acc["verdict"] == "error" and acc["reasons"] == ["tls_on_plaintext_port"]
    root = ET.fromstring(out["report_junit"])  # noqa: S314 - our own report
    failure = root.find(f".//testcase[@name='{WRONG}']/failure")
    assert failure.get("message") == "tls_on_plaintext_port"
    assert f"did you mean: {HINT}" in failure.text
    account = root.find(".//testcase[@name='alice@a.test']/failure")
    assert f"did you mean: {HINT}" in account.text
    # the account's copy of the endpoint finding stays the endpoint's (not a login finding of its own)
    from ansible_collections.mailops.clients.plugins.plugin_utils._verified import host_view

    accounts = normalize_fleet({"c1": (FLEET["c1"], SERVERS)})["c1"]
    decision = gate(accounts, host_view(out["verified"], "c1"))
    assert decision["refusals"][0] == f"- endpoint {WRONG} verdict error (used by alice@a.test):"
    assert decision["refusals"][1].endswith(f"Did you mean {HINT}")
    assert len(decision["refusals"]) == 2


def test_no_suggestion_leaves_the_merge_as_it_was():
    merged = _merged(FLEET, {WRONG: [TLS_ON_PLAIN]})
    assert verify_suggest(merged, []) is merged
    assert verify_suggest(merged, [{"failed": True}]) is merged
    assert report_partial_hosts(merged) is None


def test_filters_refuse_what_is_not_a_merge():
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match=r"^_verify_suggest expects the merge of _verify_merge$"):
        verify_suggest({}, [])
    with pytest.raises(AnsibleFilterError, match=r"^_verify_suggest_targets expects the merge of _verify_merge$"):
        verify_suggest_targets([])
