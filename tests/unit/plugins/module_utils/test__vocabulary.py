# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared vocabulary: endpoint keys, verdicts and their order, and that every layer uses the same ones."""

from __future__ import annotations

import pytest
from ansible_collections.mailops.clients.plugins.module_utils._connection import validate
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import (
    SEVERITIES,
    VERDICTS,
    endpoint_key,
    worst_verdict,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import endpoints, normalize_fleet
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import plan


@pytest.mark.parametrize(
    ("ep", "key"),
    [
        (
            {"protocol": "imap", "host": "Mail.Example.Test", "port": 993, "security": "tls"},
            "imap://mail.example.test:993/tls",
        ),
        ({"protocol": "smtp", "host": "::1", "port": "587", "security": "starttls"}, "smtp://[::1]:587/starttls"),
        ({"protocol": "imap", "host": "[::1]", "port": 993, "security": "tls"}, "imap://[::1]:993/tls"),
        ({"protocol": "imap", "host": "FE80::A", "port": 143, "security": "none"}, "imap://[fe80::a]:143/none"),
        ({"protocol": "pop3", "host": "127.0.0.1", "port": 110, "security": "none"}, "pop3://127.0.0.1:110/none"),
    ],
)
def test_endpoint_key(ep, key):
    assert endpoint_key(ep) == key


# The module side (Settings.label, in failure messages and mail_roundtrip findings) used to keep the host as
# given and write IPv6 bare: imap://Mail.Example.test:993/tls, imap://::1:993/tls. The inventory, the verify
# plan, its cache and its reports use the lower-case, bracketed key; now every side writes that one.
@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("Mail.Example.test", "imap://mail.example.test:993/tls"),
        ("::1", "imap://[::1]:993/tls"),
    ],
)
def test_modules_inventory_and_verify_plan_write_one_key(host, key):
    assert validate({"host": host}, "imap").label == key
    servers = {"s": {"incoming": {"protocol": "imap", "host": host}, "outgoing": {"host": host}}}
    fleet = normalize_fleet({"c1": ([{"email": "a@example.test", "server": "s"}], servers)})
    assert [ep["key"] for ep in endpoints(fleet) if ep["protocol"] == "imap"] == [key]
    assert [probe["key"] for probe in plan(fleet) if probe["protocol"] == "imap"] == [key]


def test_verdicts_and_severities_in_order():
    assert VERDICTS == ("ok", "warning", "error")
    assert SEVERITIES == ("info", "warning", "error")


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([], "ok"),
        (["ok"], "ok"),
        (["ok", "warning"], "warning"),
        (["warning", "error", "ok"], "error"),
        (iter(["error", "ok", "warning"]), "error"),
        # not a verdict: counts as error (the module side used to raise KeyError, the verify side said error)
        (["bogus"], "error"),
        (["ok", None], "error"),
    ],
)
def test_worst_verdict(verdicts, expected):
    assert worst_verdict(verdicts) == expected
