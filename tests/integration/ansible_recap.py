# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading ansible-playbook's PLAY RECAP and warnings in the role tests."""

from __future__ import annotations

import re

_LOCALHOST = re.compile(r"localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def recap(result) -> dict[str, int]:
    """changed and failed counts of localhost from a CompletedProcess of ansible-playbook."""
    match = _LOCALHOST.search(result.stdout)
    assert match, result.stdout + result.stderr
    return {"changed": int(match.group(2)), "failed": int(match.group(4))}


def flat(text: str) -> str:
    """``text`` with every run of whitespace as one space.

    ansible-core before 2.19 wraps a warning at the terminal width (79 columns without a terminal) with
    textwrap, which also turns its newlines into spaces: compare warnings flattened, on every core.
    """
    return " ".join(text.split())


def squeeze(text: str) -> str:
    """``text`` without any whitespace, for messages that hold a long path: textwrap (ansible-core before 2.19)
    breaks a word longer than the line, so flattening alone would leave a space inside the path."""
    return "".join(text.split())


def flat_output(result) -> str:
    """stdout and stderr of a CompletedProcess of ansible-playbook, flattened (see ``flat``)."""
    return flat(result.stdout + "\n" + result.stderr)
