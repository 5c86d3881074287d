# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest
from ansible_collections.mailops.clients.plugins.plugin_utils._compat import none_for_empty_strings

SPEC = {
    "accounts": {"type": "list", "elements": "dict"},
    "signing": {"type": "dict", "options": {"certificate": {"type": "str"}}},
    "dest_dir": {"type": "str"},
    "untyped": {},
    "mode": {"type": "raw"},
    "gate": {"type": "dict", "options": {"verified": {"type": "raw"}, "client": {"type": "str"}}},
}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"signing": ""}, {"signing": None}),
        ({"accounts": "", "mode": ""}, {"accounts": None, "mode": None}),
        ({"dest_dir": "", "untyped": ""}, {"dest_dir": "", "untyped": ""}),
        ({"gate": {"verified": "", "client": ""}}, {"gate": {"verified": None, "client": ""}}),
        ({"signing": {"certificate": ""}}, {"signing": {"certificate": ""}}),
        ({"other": ""}, {"other": ""}),
        ({"signing": None, "mode": "0644"}, {"signing": None, "mode": "0644"}),
    ],
)
def test_none_for_empty_strings(args, expected):
    assert none_for_empty_strings(args, SPEC) == expected


def test_input_is_not_changed():
    args = {"gate": {"verified": ""}}
    none_for_empty_strings(args, SPEC)
    assert args == {"gate": {"verified": ""}}
