# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a user of mailops.clients.apple_mail would check: one profile per user in the user's home on the
client (owner, mode, content as Apple reads it) and the same bytes on the controller for MDM upload."""

from __future__ import annotations

import plistlib

import pytest

PROFILE_DIR = "/home/{user}/Library/Application Support/mailops.clients"


def _profile_path(user: str) -> str:
    return f"{PROFILE_DIR.format(user=user)}/{user}.mobileconfig"


def _mail_payloads(client, user: str) -> list[dict]:
    profile = plistlib.loads(client.file(_profile_path(user)).content)
    assert profile["PayloadType"] == "Configuration"
    return [p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.mail.managed"]


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_profile_in_the_users_home(client, user):
    directory = client.file(PROFILE_DIR.format(user=user))
    assert (directory.is_directory, directory.user, directory.mode) == (True, user, 0o700)
    profile = client.file(_profile_path(user))
    assert (profile.is_file, profile.user, profile.mode) == (True, user, 0o644)
    assert client.file(PROFILE_DIR.format(user=user)).listdir() == [f"{user}.mobileconfig"]


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_controller_copy_is_the_same_profile(client, ephemeral_dir, user):
    host_dirs = list((ephemeral_dir / "apple_mail").iterdir())
    assert len(host_dirs) == 1, host_dirs
    assert (host_dirs[0] / f"{user}.mobileconfig").read_bytes() == client.file(_profile_path(user)).content


def test_imap_account_of_alice(client, lab):
    (payload,) = _mail_payloads(client, "alice")
    assert {
        k: payload.get(k)
        for k in (
            "EmailAccountType",
            "EmailAddress",
            "EmailAccountName",
            "IncomingMailServerHostName",
            "IncomingMailServerPortNumber",
            "IncomingMailServerUseSSL",
            "IncomingMailServerUsername",
            "IncomingMailServerAuthentication",
            "OutgoingMailServerHostName",
            "OutgoingMailServerPortNumber",
            "OutgoingMailServerUseSSL",
            "OutgoingMailServerUsername",
            "OutgoingMailServerAuthentication",
            "IncomingPassword",
        )
    } == {
        "EmailAccountType": "EmailTypeIMAP",
        "EmailAddress": "alice@example.test",
        "EmailAccountName": "Alice Example",
        "IncomingMailServerHostName": "mail.example.test",
        "IncomingMailServerPortNumber": lab["ports"]["imaps"],
        "IncomingMailServerUseSSL": True,
        "IncomingMailServerUsername": "alice@example.test",
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerHostName": "mail.example.test",
        "OutgoingMailServerPortNumber": lab["ports"]["submissions"],
        "OutgoingMailServerUseSSL": True,
        "OutgoingMailServerUsername": "alice@example.test",
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "IncomingPassword": None,  # no password unless the inventory opts in
    }


def test_pop3_account_of_bob(client, lab):
    (payload,) = _mail_payloads(client, "bob")
    assert (
        payload["EmailAccountType"],
        payload["IncomingMailServerPortNumber"],
        payload["IncomingMailServerUseSSL"],
        payload["OutgoingMailServerPortNumber"],
        payload["OutgoingMailServerUseSSL"],
    ) == ("EmailTypePOP", lab["ports"]["pop3s"], True, lab["ports"]["submission"], True)
