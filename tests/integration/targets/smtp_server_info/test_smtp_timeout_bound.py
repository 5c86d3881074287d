# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``timeout`` bounds a SMTP check up to its first login, diagnostic connections included."""

from __future__ import annotations

import faultservers as fs
import pytest

pytestmark = pytest.mark.lab

TIMEOUT = 2


@pytest.mark.parametrize(("security", "fault", "expected"), fs.TIMEOUT_BOUND_CASES)
def test_a_stuck_server_ends_the_check_within_the_timeout(security, fault, expected):
    fs.assert_bounded("smtp", security, fault, expected, TIMEOUT)
