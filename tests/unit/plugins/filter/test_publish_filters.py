# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The publish role's private filters (_publish_domains, _publish_plan): bad input is an AnsibleFilterError whose
message names what was expected, never a traceback."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mailops.clients.plugins.filter._publish_domains import publish_domains
from ansible_collections.mailops.clients.plugins.filter._publish_plan import publish_plan
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import normalize_accounts

SERVERS = {
    "main": {"incoming": {"protocol": "imap", "host": "mail.example.test"}, "outgoing": {"host": "mail.example.test"}}
}


def test_publish_domains_of_normalized_accounts():
    accounts = normalize_accounts([{"email": "a@example.test", "server": "main", "username": "a"}], SERVERS, "h1")
    assert publish_domains(accounts) == {"example.test": {"server": ["main"], "username": "local_part"}}
    assert publish_domains(None) == {}


@pytest.mark.parametrize(
    ("accounts", "missing"),
    [
        ([{"email": "a@example.test", "server": "main"}], "'domain'"),
        (["a@example.test"], "'str' object has no attribute 'get'"),
    ],
)
def test_publish_domains_names_the_expected_input(accounts, missing):
    message = f"_publish_domains expects normalized accounts (mail_accounts_normalize): missing {missing}"
    with pytest.raises(AnsibleFilterError, match=f"^{re.escape(message)}$"):
        publish_domains(accounts)


def test_publish_plan_error_is_the_plan_message_alone():
    with pytest.raises(
        AnsibleFilterError, match=r"^mailops_publish_domains\[example.test\]\.server: server nope: unknown"
    ):
        publish_plan({"example.test": {"server": "nope"}}, SERVERS)
