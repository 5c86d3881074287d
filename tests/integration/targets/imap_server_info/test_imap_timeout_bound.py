# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``timeout`` bounds an IMAP check up to its first login, diagnostic connections included."""

from __future__ import annotations

import faultservers as fs
import pytest

pytestmark = pytest.mark.lab

TIMEOUT = 2


@pytest.mark.parametrize(("security", "fault", "expected"), fs.TIMEOUT_BOUND_CASES)
def test_a_stuck_server_ends_the_check_within_the_timeout(security, fault, expected):
    fs.assert_bounded("imap", security, fault, expected, TIMEOUT)


def test_the_module_process_returns_within_the_timeout():
    # the whole module run as Ansible starts it (interpreter start and imports included), at timeout 3
    with fs.FaultServer(fs.silent) as server:
        result, elapsed = fs.run_module_process(
            "imap", host="127.0.0.1", port=server.port, security="starttls", timeout=3, fail_on="never"
        )
    assert [(f["code"], f["message"]) for f in result["findings"]] == [
        ("banner_timeout", "connected, but the server sent no greeting within 3s")
    ]
    assert (result.get("failed", False), result["verdict"]) == (False, "error")
    assert elapsed <= 3 * 1.2, f"{elapsed:.2f}s"


def test_the_login_is_inside_the_same_deadline():
    # a slow greeting (1.2 s), then a LOGIN that is never answered: the login gets what is left, not a new timeout
    with fs.FaultServer(fs.delayed(fs.imap_slow_login(600), 1.2)) as server:
        start = fs.time.monotonic()
        result = fs.check(
            "imap", host="127.0.0.1", port=server.port, security="none", timeout=TIMEOUT, username="alice",
            password="pw-never-answered",
        )  # fmt: skip
        elapsed = fs.time.monotonic() - start
    assert [(f["code"], f["stage"]) for f in result["findings"]] == [
        ("insecure_plaintext_connection", "connect"), ("cleartext_auth_only", "capabilities"),
        ("command_timeout", "auth"),
    ]  # fmt: skip
    assert result["findings"][-1]["message"] == "no complete answer to LOGIN within 2s"
    assert result["login"]["attempted"] is True
    assert 1.2 < elapsed <= TIMEOUT * 1.2, f"{elapsed:.2f}s"
