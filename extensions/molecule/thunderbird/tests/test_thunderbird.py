# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a user of mailops.clients.thunderbird would check on a machine whose users already use Thunderbird:
the accounts land in the profile Thunderbird starts (managed block in user.js, account lists merged in
prefs.js), everything the users made by hand stays, the files keep belonging to the users, and the
enterprise AutoConfig sits root-owned in the installation directory."""

from __future__ import annotations

import pytest

ROOT = "/home/{user}/.thunderbird"
PROFILE = ROOT + "/k3x9q2vb.default-esr"  # named by the [Install...] section of profiles.ini
OTHER_PROFILE = ROOT + "/a1b2c3d4.default"  # Default=1, but not what Thunderbird starts
HANDMADE = "/var/lib/mailops-molecule/handmade/{user}"  # the files as prepare wrote them
INSTALL_DIR = "/usr/lib/thunderbird"
BLOCK_BEGIN = "// >>> mailops.clients thunderbird: managed block, rewritten by Ansible; edit outside it >>>"
BLOCK_END = "// <<< mailops.clients thunderbird: end of managed block <<<"
LIST_PREFS = ("mail.accountmanager.accounts", "mail.smtpservers")

# user: (incoming protocol, lab port name, socketType, SMTP port name, try_ssl, display name, its escape)
ACCOUNTS = {
    "alice": ("imap", "imaps", 3, "submissions", 3, "Alice Ærøskøbing", r"Alice \u00C6r\u00F8sk\u00F8bing"),
    "bob": ("pop3", "pop3s", 3, "submission", 2, "Bob Łukasz ✉", r"Bob \u0141ukasz \u2709"),
}
USERS = sorted(ACCOUNTS)


def _text(client, path: str) -> str:
    return client.file(path).content_string


def _split_block(user_js: str) -> tuple[str, str, str]:
    """(before, block, after) of user.js; the block with its marker lines."""
    assert user_js.count(BLOCK_BEGIN) == 1 and user_js.count(BLOCK_END) == 1, user_js
    start = user_js.index(BLOCK_BEGIN)
    end = user_js.index(BLOCK_END) + len(BLOCK_END) + 1
    return user_js[:start], user_js[start:end], user_js[end:]


@pytest.mark.parametrize("user", USERS)
def test_profile_files_belong_to_the_user_0600(client, stats, user):
    paths = [f"{PROFILE.format(user=user)}/{name}" for name in ("user.js", "prefs.js")]
    assert stats(client, *paths) == dict.fromkeys(paths, ("regular file", user, user, 0o600))


@pytest.mark.parametrize("user", USERS)
def test_user_js_keeps_the_users_own_lines(client, user):
    before, _block, after = _split_block(_text(client, f"{PROFILE.format(user=user)}/user.js"))
    own = _text(client, f"{HANDMADE.format(user=user)}/user.js")
    assert own.startswith(f"// {user}'s own settings\n")
    assert before.rstrip("\n") + "\n" + after == own


@pytest.mark.parametrize("user", USERS)
def test_managed_block_holds_the_lab_account(client, lab, prefs_of, user):
    protocol, port_name, socket_type, smtp_port_name, try_ssl, display_name, _escaped = ACCOUNTS[user]
    _before, block, _after = _split_block(_text(client, f"{PROFILE.format(user=user)}/user.js"))
    prefs = prefs_of(block)
    email = f"{user}@example.test"
    assert {
        key: prefs.get(key)
        for key in (
            "mail.account.account1000.mailops_id",
            "mail.account.account1000.server",
            "mail.account.account1000.identities",
            "mail.server.server1000.type",
            "mail.server.server1000.hostname",
            "mail.server.server1000.port",
            "mail.server.server1000.socketType",
            "mail.server.server1000.authMethod",
            "mail.server.server1000.userName",
            "mail.identity.id1000.fullName",
            "mail.identity.id1000.useremail",
            "mail.identity.id1000.smtpServer",
            "mail.smtpserver.smtp1000.hostname",
            "mail.smtpserver.smtp1000.port",
            "mail.smtpserver.smtp1000.try_ssl",
            "mail.smtpserver.smtp1000.authMethod",
            "mail.smtpserver.smtp1000.username",
            "mail.accountmanager.defaultaccount",
        )
    } == {
        "mail.account.account1000.mailops_id": email,
        "mail.account.account1000.server": "server1000",
        "mail.account.account1000.identities": "id1000",
        "mail.server.server1000.type": protocol,
        "mail.server.server1000.hostname": lab["hostname"],
        "mail.server.server1000.port": lab["ports"][port_name],
        "mail.server.server1000.socketType": socket_type,
        "mail.server.server1000.authMethod": 3,  # auth: password
        "mail.server.server1000.userName": email,
        "mail.identity.id1000.fullName": display_name,
        "mail.identity.id1000.useremail": email,
        "mail.identity.id1000.smtpServer": "smtp1000",
        "mail.smtpserver.smtp1000.hostname": lab["hostname"],
        "mail.smtpserver.smtp1000.port": lab["ports"][smtp_port_name],
        "mail.smtpserver.smtp1000.try_ssl": try_ssl,
        "mail.smtpserver.smtp1000.authMethod": 3,
        "mail.smtpserver.smtp1000.username": email,
        "mail.accountmanager.defaultaccount": "account1000",
    }
    # the block never forces the account lists (that would drop accounts the user adds later)
    assert not set(LIST_PREFS) & set(prefs)
    # no other managed key, and no password
    assert {key.split(".")[2] for key in prefs if key.startswith("mail.") and key.count(".") >= 3} <= {
        "account1000",
        "server1000",
        "id1000",
        "smtp1000",
    }
    assert "password" not in block.lower()


@pytest.mark.parametrize("user", USERS)
def test_non_ascii_display_name_is_escaped(client, user):
    _before, block, _after = _split_block(_text(client, f"{PROFILE.format(user=user)}/user.js"))
    escaped = ACCOUNTS[user][6]
    assert f'user_pref("mail.identity.id1000.fullName", "{escaped}");\n' in block
    assert block.isascii()


def test_bob_pop3_keeps_mail_on_the_server(client, prefs_of):
    _before, block, _after = _split_block(_text(client, f"{PROFILE.format(user='bob')}/user.js"))
    prefs = prefs_of(block)
    assert {
        key: prefs.get(f"mail.server.server1000.{key}") for key in ("leave_on_server", "num_days_to_leave_on_server")
    } == {
        "leave_on_server": True,
        "num_days_to_leave_on_server": 14,
    }


@pytest.mark.parametrize("user", USERS)
def test_prefs_js_keeps_the_hand_made_account(client, prefs_of, user):
    handmade = _text(client, f"{HANDMADE.format(user=user)}/prefs.js")
    prefs_js = _text(client, f"{PROFILE.format(user=user)}/prefs.js")
    kept = [line for line in handmade.splitlines() if not any(f'"{name}"' in line for name in LIST_PREFS)]
    assert 'user_pref("mail.server.server1.hostname", "imap.home.test");' in kept
    new_lines = prefs_js.splitlines()
    assert [line for line in new_lines if line in kept] == kept  # every hand-made line, in its order
    # the account lists: the user's keys in their order, ours appended
    prefs = prefs_of(prefs_js)
    assert {name: prefs[name] for name in LIST_PREFS} == {
        "mail.accountmanager.accounts": "account1,account2,account1000",
        "mail.smtpservers": "smtp1,smtp1000",
    }


@pytest.mark.parametrize("user", USERS)
def test_only_the_profile_thunderbird_starts_is_changed(client, user):
    assert client.file(OTHER_PROFILE.format(user=user)).listdir() == []
    assert _text(client, f"{ROOT.format(user=user)}/profiles.ini").startswith(
        "[Install3B6073811A6ABF12]\nDefault=k3x9q2vb.default-esr\n"
    )


def test_enterprise_files_root_owned_0644(client, stats):
    paths = [f"{INSTALL_DIR}/defaults/pref/autoconfig.js", f"{INSTALL_DIR}/mailops.cfg"]
    assert stats(client, *paths) == dict.fromkeys(paths, ("regular file", "root", "root", 0o644))


def test_autoconfig_js_loads_the_cfg(client, prefs_of):
    assert prefs_of(_text(client, f"{INSTALL_DIR}/defaults/pref/autoconfig.js")) == {
        "general.config.filename": "mailops.cfg",
        "general.config.obscure_value": 0,
    }


def test_cfg_starts_with_a_comment_and_holds_each_users_account(client, lab, prefs_of):
    cfg = _text(client, f"{INSTALL_DIR}/mailops.cfg")
    first_line, rest = cfg.split("\n", 1)
    assert first_line.startswith("// ")  # Thunderbird skips the first line of the .cfg
    assert cfg.isascii()
    prefs = prefs_of(rest)
    servers = {
        prefs[f"mail.server.{key}.userName"]: (
            prefs[f"mail.server.{key}.type"],
            prefs[f"mail.server.{key}.hostname"],
            prefs[f"mail.server.{key}.port"],
        )
        for key in {name.split(".")[2] for name in prefs if name.startswith("mail.server.")}
    }
    assert servers == {
        f"{user}@example.test": (protocol, lab["hostname"], lab["ports"][port_name])
        for user, (protocol, port_name, *_rest) in ACCOUNTS.items()
    }
    for user in USERS:
        assert f'if (mailopsUser == "{user}") {{' in cfg
