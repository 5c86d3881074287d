# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plugin_utils/_values.py: user values named as YAML names them, whatever class carries them."""

from __future__ import annotations

import pytest
from ansible_collections.mailops.clients.plugins.plugin_utils._values import kind


class _AnsibleTaggedInt(int):  # the shape of ansible-core 2.19's tagged values: a subclass with a private name
    pass


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true/false"),
        (1234, "a number"),
        (_AnsibleTaggedInt(1234), "a number"),
        (1.5, "a number"),
        ("x", "a string"),
        (b"x", "bytes"),
        ({"a": 1}, "a dictionary"),
        ([1], "a list"),
        ((1,), "a list"),
        (object(), "a value"),
    ],
)
def test_kind(value, expected):
    assert kind(value) == expected
