# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""User values in messages: what a value is, in the words of the YAML it came from, and which name a typo meant.

ansible-core 2.19 hands templated values over as tagged subclasses (``_AnsibleTaggedInt``, ...): their class
names mean nothing to a user, so messages say "a number" or "a list" instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


def kind(value) -> str:
    """``a string``, ``a number``, ``true/false``, ``a list``, ``a dictionary``, ``null`` or ``a value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (bytes, bytearray)):
        return "bytes"
    if isinstance(value, Mapping):
        return "a dictionary"
    if isinstance(value, (list, tuple, set)):
        return "a list"
    return "a value"


def near_names(name, known: Iterable, limit: int = 2) -> list:
    """The known names a typo ``name`` most likely meant (at most ``limit``, closest first)."""
    return difflib.get_close_matches(str(name), sorted(str(k) for k in known), n=limit, cutoff=0.75)


def did_you_mean(name, known: Iterable, limit: int = 2) -> str:
    """`` (did you mean a or b?)`` for a near miss, else the empty string."""
    near = near_names(name, known, limit)
    return f" (did you mean {' or '.join(near)}?)" if near else ""
