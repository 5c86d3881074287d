# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verify role's filters: thin wrappers that pass their options through and raise AnsibleFilterError."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mailops.clients.plugins.filter.mail_accounts_gate import mail_accounts_gate
from ansible_collections.mailops.clients.plugins.filter.mail_verify_merge import mail_verify_merge
from ansible_collections.mailops.clients.plugins.filter.mail_verify_plan import mail_verify_plan
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
    probes = mail_verify_plan(FLEET, credentials=credentials)
    merged = mail_verify_merge(
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
    decision = mail_accounts_gate(FLEET["h1"], {**merged["verified"], "accounts": merged["verified"]["accounts"]["h1"]})
    assert decision["unverified"] == ["a@example.test"]


def test_filter_errors():
    with pytest.raises(
        AnsibleFilterError, match="^mail_accounts_gate: verified must be the mailops_verified dictionary$"
    ):
        mail_accounts_gate(FLEET["h1"], "yes")
    with pytest.raises(AnsibleFilterError, match="^mail_accounts_gate: fail_on must be error or warning, got 'x'$"):
        mail_accounts_gate(FLEET["h1"], {}, fail_on="x")
    with pytest.raises(AnsibleFilterError, match="^mailops.clients.verify: unknown probe option 'bogus'"):
        mail_verify_plan(FLEET, options={"bogus": 1})
