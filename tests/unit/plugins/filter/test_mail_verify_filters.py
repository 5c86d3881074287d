# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verify role's filters (the gate, and the role's private ones): thin wrappers that pass their options through
and raise AnsibleFilterError."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mailops.clients.plugins.filter._verify_host_view import verify_host_view
from ansible_collections.mailops.clients.plugins.filter._verify_host_views import verify_host_views
from ansible_collections.mailops.clients.plugins.filter._verify_inventory import verify_inventory
from ansible_collections.mailops.clients.plugins.filter._verify_merge import verify_merge
from ansible_collections.mailops.clients.plugins.filter._verify_plan import verify_plan
from ansible_collections.mailops.clients.plugins.filter.mail_accounts_gate import mail_accounts_gate
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import normalize_fleet

SERVERS = {
    "s": {"incoming": {"protocol": "imap", "host": "mail.example.test"}, "outgoing": {"host": "mail.example.test"}}
}
FLEET = normalize_fleet({"h1": ([{"email": "a@example.test", "server": "s", "password": "pw"}], SERVERS)})
NO_AUTH = {"code": "auth_not_offered", "severity": "error", "stage": "auth", "message": "no AUTH", "fix": "enable"}


def _results(probes):
    out = []
    for probe in probes:
        smtp = probe["protocol"] == "smtp"
        login = {"attempted": not smtp, "succeeded": not smtp}
        account = {"verdict": "error" if smtp else "ok", "findings": [NO_AUTH] if smtp else [], "login": login}
        out.append({"item": probe, "verdict": "ok", "findings": [], "accounts": [account for _a in probe["accounts"]]})
    return out


@pytest.mark.parametrize("credentials", ["yes", True])
def test_merge_passes_credentials_dropped_hosts_and_partial_runs(credentials):
    probes = verify_plan(FLEET, credentials=credentials)
    merged = verify_merge(
        probes, FLEET, results=_results(probes), credentials=credentials, dropped={"h2": "bad"}, partial_hosts=["h1"]
    )
    entry = merged["verified"]["accounts"]["h1"]["a@example.test"]
    assert (entry["verdict"], entry["reasons"], entry["not_checked"]) == (
        "error",
        ["auth_not_offered"],
        {"outgoing": "auth_not_offered"},
    )
    report = json.loads(merged["report_json"])
    assert (report["partial"], report["hosts"], report["summary"]["hosts_failed"]) == (
        {"hosts": ["h1"]},
        [{"host": "h2", "verdict": "error", "message": "bad"}],
        1,
    )
    assert 'name="partial.hosts" value="h1"' in merged["report_junit"]
    assert merged["lines"][1] == "smtp://mail.example.test:465/tls: error: 1 of 1 account: auth_not_offered"
    view = verify_host_view(merged, "h1")
    assert view == {
        **merged["verified"],
        "accounts": merged["verified"]["accounts"]["h1"],
        "summary": merged["summary"],
    }
    decision = mail_accounts_gate(FLEET["h1"], view)
    assert decision["unverified"] == ["a@example.test"]
    # a host without accounts in the merge (every endpoint, no account of its own)
    assert verify_host_view(merged, "h9")["accounts"] == {}
    # the views of many hosts at once, for the role's single delegate_facts loop: the same views, in order
    assert verify_host_views(merged, ["h9", "h1"]) == [
        {"host": "h9", "view": verify_host_view(merged, "h9")},
        {"host": "h1", "view": view},
    ]


def test_inventory_returns_the_accounts_or_the_error():
    hostvars = {
        "h1": {
            "mailops_accounts": [{"email": "a@example.test", "server": "s", "password": "pw"}],
            "mailops_servers": SERVERS,
        },
        "h2": {"mailops_accounts": [{"email": "a@example.test", "server": "nope"}], "mailops_servers": SERVERS},
        "h3": {},
    }
    assert verify_inventory(hostvars, "h1") == {"accounts": FLEET["h1"], "error": None}
    assert verify_inventory(hostvars, "h3") == {"accounts": [], "error": None}
    outcome = verify_inventory(hostvars, "h2")
    assert outcome["accounts"] is None
    assert outcome["error"] == (
        "host h2, account a@example.test (mailops_accounts[0]), field server: unknown server 'nope'; known servers: s. "
        "Fix: set server to one of the known names or define it in mailops_servers."
    )


def test_filter_errors():
    with pytest.raises(
        AnsibleFilterError, match="^mail_accounts_gate: verified must be the mailops_verified dictionary$"
    ):
        mail_accounts_gate(FLEET["h1"], "yes")
    with pytest.raises(AnsibleFilterError, match="^mail_accounts_gate: fail_on must be error or warning, got 'x'$"):
        mail_accounts_gate(FLEET["h1"], {}, fail_on="x")
    with pytest.raises(AnsibleFilterError, match="^mailops.clients.verify: unknown probe option 'bogus'"):
        verify_plan(FLEET, options={"bogus": 1})
    with pytest.raises(AnsibleFilterError, match="^mailops.clients.verify: cannot merge probe results: "):
        verify_merge([{"key": "imap://h:993/tls"}], FLEET)
    with pytest.raises(AnsibleFilterError, match="^_verify_host_view expects the merge of _verify_merge$"):
        verify_host_view({"endpoints": {}}, "h1")
    with pytest.raises(AnsibleFilterError, match="^_verify_host_views expects the merge of _verify_merge$"):
        verify_host_views({"endpoints": {}}, ["h1"])
    with pytest.raises(AnsibleFilterError, match="^_verify_inventory: host h9 is not in hostvars$"):
        verify_inventory({}, "h9")
    with pytest.raises(AnsibleFilterError, match="^_verify_inventory expects hostvars as input$"):
        verify_inventory([], "h9")
