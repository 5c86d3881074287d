# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a user value is, in the words of the YAML it came from, for messages.

ansible-core 2.19 hands templated values over as tagged subclasses (``_AnsibleTaggedInt``, ...): their class
names mean nothing to a user, so messages say "a number" or "a list" instead.
"""

from __future__ import annotations

from collections.abc import Mapping


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
