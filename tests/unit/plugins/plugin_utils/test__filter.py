# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filters' one wrapper: which errors become AnsibleFilterError, with which message."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mailops.clients.plugins.plugin_utils._filter import filter_errors, plan_settings


class DomainError(Exception):
    pass


@pytest.mark.parametrize(
    ("prefix", "errors", "accounts", "raised", "message"),
    [
        ("f", DomainError, False, DomainError("account x: host is missing"), "f: account x: host is missing"),
        (None, DomainError, False, DomainError("account x: host is missing"), "account x: host is missing"),
        ("f: cannot merge", (DomainError, KeyError), False, KeyError("id"), "f: cannot merge: 'id'"),
        (
            "f",
            DomainError,
            True,
            KeyError("incoming"),
            "f expects normalized accounts (mail_accounts_normalize): missing 'incoming'",
        ),
        (
            "f",
            DomainError,
            True,
            TypeError("bad"),
            "f expects normalized accounts (mail_accounts_normalize): missing bad",
        ),
        (
            "f",
            DomainError,
            True,
            AttributeError("'str' object has no attribute 'get'"),
            "f expects normalized accounts (mail_accounts_normalize): missing 'str' object has no attribute 'get'",
        ),
    ],
)
def test_mapped(prefix, errors, accounts, raised, message):
    with pytest.raises(AnsibleFilterError) as caught, filter_errors(prefix, errors, accounts=accounts):
        raise raised
    assert caught.value.message == message
    assert caught.value.__suppress_context__


@pytest.mark.parametrize("raised", [KeyError("x"), TypeError("x"), AttributeError("x"), ValueError("x")])
def test_other_errors_pass_through(raised):
    """Without accounts=True a KeyError is a bug of the collection, not bad input: it is not dressed up."""
    with pytest.raises(type(raised)), filter_errors("f", DomainError):
        raise raised


def test_result_passes_through():
    with filter_errors("f", DomainError):
        value = 42
    assert value == 42


def test_plan_settings():
    assert plan_settings() == {"options": {}, "endpoint_options": {}, "cache": {}, "ttl": 0, "now": 0.0, "secret": None}
    assert plan_settings({"timeout": 3}, None, "", "60", "1000.5", "k") == {
        "options": {"timeout": 3},
        "endpoint_options": {},
        "cache": {},
        "ttl": 60,
        "now": 1000.5,
        "secret": "k",
    }
