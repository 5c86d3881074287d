# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The public filters over the renderers and the inventory (mail_mobileconfig, mail_outlook_windows, mail_endpoints):
what they return and the errors they raise; the old filter names stay as deprecated aliases in meta/runtime.yml."""

from __future__ import annotations

import ast
import plistlib
import re
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.mailops.clients.plugins.filter.mail_endpoints import mail_endpoints
from ansible_collections.mailops.clients.plugins.filter.mail_mobileconfig import mail_mobileconfig
from ansible_collections.mailops.clients.plugins.filter.mail_outlook_windows import mail_outlook_windows
from ansible_collections.mailops.clients.plugins.plugin_utils._apple import render_profiles
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import endpoints, normalize_accounts

REPO = Path(__file__).resolve().parents[4]
FILTERS = REPO / "plugins" / "filter"
SERVERS = {
    "s": {"incoming": {"protocol": "imap", "host": "Mail.Example.test"}, "outgoing": {"host": "mail.example.test"}},
    "legacy": {"incoming": {"protocol": "pop3", "host": "pop.example.test", "security": "starttls"}},
}
ACCOUNTS = normalize_accounts(
    [
        {"email": "a@example.test", "server": "s", "password": "pa", "user": "alice"},
        {"email": "b@example.test", "server": "s", "password": "pb", "user": "alice"},
    ],
    SERVERS,
    "h1",
)


# --- mail_mobileconfig -------------------------------------------------------------------------------------------
def test_mobileconfig_is_the_renderer_with_content_and_summaries():
    profiles = mail_mobileconfig(ACCOUNTS, identifier_prefix="com.example.mail")
    expected = render_profiles(list(ACCOUNTS), {"identifier_prefix": "com.example.mail"}).profiles
    assert len(profiles) == len(expected) == 1
    assert profiles[0]["content"] == expected[0].plist().decode("utf-8")
    assert profiles[0]["filename"] == "alice.mobileconfig"
    assert profiles[0]["accounts"] == ["a@example.test", "b@example.test"]
    assert profiles[0]["warnings"] == []
    payloads = plistlib.loads(profiles[0]["content"].encode())["PayloadContent"]
    assert [p["EmailAddress"] for p in payloads] == ["a@example.test", "b@example.test"]
    summary = mail_mobileconfig(ACCOUNTS, content=False, group_by="account")
    assert [("content" in p, p["accounts"]) for p in summary] == [
        (False, ["a@example.test"]),
        (False, ["b@example.test"]),
    ]


def test_renderer_filters_render_nothing_of_an_absent_account():
    gone = normalize_accounts([{"email": "c@example.test", "state": "absent", "user": "alice"}], SERVERS, "h1")
    assert mail_mobileconfig(ACCOUNTS + gone) == mail_mobileconfig(ACCOUNTS)
    assert mail_mobileconfig(gone) == []
    assert mail_outlook_windows(ACCOUNTS[:1] + gone) == mail_outlook_windows(ACCOUNTS[:1])
    assert mail_endpoints(ACCOUNTS + gone) == mail_endpoints(ACCOUNTS)


@pytest.mark.parametrize(
    ("accounts", "options", "message"),
    [
        (
            [{**ACCOUNTS[0], "incoming": {**ACCOUNTS[0]["incoming"], "auth": "oauth2"}}],
            {},
            "mail_mobileconfig: account a@example.test: incoming auth oauth2 cannot be rendered: Apple's "
            "com.apple.mail.managed payload has no OAuth 2.0 authentication value. Fix: use auth password or "
            "password-encrypted for this server if it offers them, or leave the account out of Apple profiles "
            "(mailops_apple_mail_unsupported: skip, or mailops_apple_mail_exclude: [a@example.test])",
        ),
        (ACCOUNTS, {"group_by": "host"}, "mail_mobileconfig: group_by must be one of user, account, got 'host'"),
        (
            [{"email": "x@example.test"}],
            {},
            "mail_mobileconfig: every account must be a normalized account dictionary (with an id)",
        ),
        (
            [{"id": "x", "email": "x@example.test"}],
            {},
            "mail_mobileconfig expects normalized accounts (mail_accounts_normalize): missing 'incoming'",
        ),
    ],
)
def test_mobileconfig_errors(accounts, options, message):
    with pytest.raises(AnsibleFilterError, match=f"^{re.escape(message)}$"):
        mail_mobileconfig(accounts, **options)


# --- mail_outlook_windows ------------------------------------------------------------------------------------------
def test_outlook_windows_errors():
    with pytest.raises(AnsibleFilterError, match=r"^mail_outlook_windows: account x: incoming is missing$"):
        mail_outlook_windows([{"id": "x", "email": "x@example.test"}])
    with pytest.raises(AnsibleFilterError, match=r"^mail_outlook_windows: unknown option\(s\) bogus_option; valid"):
        mail_outlook_windows(ACCOUNTS, {"bogus_option": 1})


# --- mail_endpoints ------------------------------------------------------------------------------------------------
def test_endpoints_of_one_host_and_of_a_fleet():
    one = mail_endpoints(ACCOUNTS)
    assert one == endpoints({"": ACCOUNTS})
    assert [e["key"] for e in one] == ["imap://mail.example.test:993/tls", "smtp://mail.example.test:465/tls"]
    assert one[0]["accounts"] == [
        {"host": "", "id": "a@example.test", "direction": "incoming"},
        {"host": "", "id": "b@example.test", "direction": "incoming"},
    ]
    assert all(e["credentials"] == [] for e in one)
    fleet = mail_endpoints({"h1": ACCOUNTS, "h2": ACCOUNTS[:1]}, credentials=True)
    assert [ref["host"] for ref in fleet[0]["accounts"]] == ["h1", "h1", "h2"]
    assert [(c["username"], c["password"]) for c in fleet[0]["credentials"]] == [
        ("a@example.test", "pa"),
        ("b@example.test", "pb"),
    ]
    assert mail_endpoints(None) == []


@pytest.mark.parametrize(
    ("bad", "detail"),
    [
        ([{"email": "x@example.test"}], "missing 'incoming'"),
        ({"h1": [{"incoming": {}}]}, "missing 'host'"),
        ([3], "a list of account dictionaries, or a dictionary from host to such a list"),
        ("a@example.test", "a list of account dictionaries, or a dictionary from host to such a list"),
    ],
)
def test_endpoints_error_names_the_expected_input(bad, detail):
    message = f"mail_endpoints expects normalized accounts (mail_accounts_normalize): {detail}"
    with pytest.raises(AnsibleFilterError, match=f"^{re.escape(message)}$"):
        mail_endpoints(bad)


# --- names -----------------------------------------------------------------------------------------------------------
def _filter_names():
    """Filter name -> file, from each file's FilterModule.filters() return value."""
    names = {}
    for path in sorted(FILTERS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name == "filters":
                for key in node.body[-1].value.keys:
                    names[key.value] = path.stem
    return names


def test_public_filters_are_mail_prefixed_and_private_ones_underscored():
    names = _filter_names()
    assert all(name == stem for name, stem in names.items()), "one filter per file, named like the file"
    assert sorted(n for n in names if not n.startswith("_")) == [
        "mail_accounts_gate",
        "mail_accounts_normalize",
        "mail_endpoints",
        "mail_inventory_normalize",
        "mail_mobileconfig",
        "mail_outlook_windows",
    ]
    assert all(n.startswith(("_verify_", "_publish_")) for n in names if n.startswith("_"))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("mobileconfig", "mail_mobileconfig"),
        ("outlook_windows", "mail_outlook_windows"),
        ("mail_verify_plan", "_verify_plan"),
        ("mail_verify_merge", "_verify_merge"),
    ],
)
def test_old_names_are_deprecated_aliases(old, new):
    routing = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["plugin_routing"]["filter"][old]
    assert routing["redirect"] == f"mailops.clients.{new}"
    assert routing["deprecation"]["removal_version"] == "1.0.0"
    assert f"mailops.clients.{new}" in routing["deprecation"]["warning_text"]
    assert new in _filter_names()
    assert not (FILTERS / f"{old}.py").exists()
