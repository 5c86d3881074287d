# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""allow_insecure against a cleartext-only POP3 server (a real Dovecot without TLS) that accepts the login."""

from __future__ import annotations

import faultservers as fs
import pytest

pytestmark = pytest.mark.lab

ALICE = "alice@example.test"
EXPOSED = (
    "the server offers password login (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2, USER/PASS) but no TLS on this port: "
    "passwords can only be sent unencrypted"
)


@pytest.fixture(scope="module")
def legacy(mail_lab):
    with fs.cleartext_dovecot(mail_lab) as lab:
        yield lab


@pytest.mark.parametrize(
    ("allow_insecure", "verdict", "severity", "message"),
    [(True, "warning", "warning", EXPOSED + " (accepted with allow_insecure)"), (False, "error", "error", EXPOSED)],
)
def test_cleartext_only_pop3_is_a_warning_only_when_opted_in(legacy, allow_insecure, verdict, severity, message):
    result = fs.check(
        "pop3", host=fs.CLEARTEXT_HOST, port=legacy.ports["pop3"], security="none", timeout=5,
        username=ALICE, password=legacy.users[ALICE], allow_insecure=allow_insecure,
    )  # fmt: skip
    assert (result["verdict"], result["login"]["succeeded"], result["login"]["mechanism"]) == (
        verdict,
        True,
        "CRAM-MD5",
    )
    assert [(f["code"], f["severity"], f["message"]) for f in result["findings"]] == [
        ("insecure_plaintext_connection", "warning",
         "security is none: the whole session, including any credentials, crosses the network unencrypted"),
        ("cleartext_auth_only", severity, message),
    ]  # fmt: skip
