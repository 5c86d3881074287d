# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading ansible-playbook's PLAY RECAP in the role tests."""

from __future__ import annotations

import re

_LOCALHOST = re.compile(r"localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def recap(result) -> dict[str, int]:
    """changed and failed counts of localhost from a CompletedProcess of ansible-playbook."""
    match = _LOCALHOST.search(result.stdout)
    assert match, result.stdout + result.stderr
    return {"changed": int(match.group(2)), "failed": int(match.group(4))}
