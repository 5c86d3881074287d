# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The .reg files of the outlook role imported into a real registry (Wine's reg.exe) and read back.

* Every .reg the role writes sets exactly the values it says, with the same types and data.
* After an account left, a server moved and an option changed, importing the new .reg and then the removal .reg
  leaves none of the removed values and every other value intact: those the role still sets, and values
  another program wrote in the same keys (Outlook's own account values, another tool's Autodiscover setting).
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "unit" / "plugins" / "plugin_utils"))
import regfile  # noqa: E402
import wine_registry  # noqa: E402
from ansible_recap import recap  # noqa: E402
from windows_host import SKIP_APPLYING, windows_host_play  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not wine_registry.available(), reason="wine64 is not installed (tools/install-system-deps.sh)"),
]

PLAY = """
- hosts: all
  gather_facts: false
  roles:
    - role: mailops.clients.outlook
"""
SERVERS = {
    "example": {
        "incoming": {"protocol": "imap", "host": "mail.example.test", "security": "tls"},
        "outgoing": {"host": "mail.example.test", "security": "starttls"},
    },
    "pop": {
        "incoming": {"protocol": "pop3", "host": "pop.example.test", "security": "tls", "auth": "ntlm"},
        "outgoing": {"host": "relay.example.test", "port": 25, "security": "none", "auth": "none"},
    },
}
HKCU = "HKEY_CURRENT_USER"
OUTLOOK = f"{HKCU}\\Software\\Microsoft\\Office\\16.0\\Outlook"
POLICY = f"{HKCU}\\Software\\Policies\\Microsoft\\Office\\16.0\\Outlook"
AD_KEY = f"{OUTLOOK}\\AutoDiscover"
PROFILE_KEY = f"{OUTLOOK}\\Profiles\\Outlook\\9375CFF0413111d3B88A00104B2A6676\\00000002"


@pytest.fixture(scope="session")
def wine_base(tmp_path_factory):
    """One booted Wine prefix per session (``wineboot -i``); tests get clones of its registry."""
    root = tmp_path_factory.mktemp("wine")
    prefix, seconds = wine_registry.booted_prefix(root)
    print(f"\n[wine] wineboot -i took {seconds:.1f} s")  # noqa: T201
    yield prefix
    wine_registry.Registry(prefix).stop()


@pytest.fixture
def registry(wine_base, tmp_path):
    """A registry of its own for each use: ``registry()`` clones the booted prefix."""
    made = []

    def make():
        clone = wine_registry.Registry.clone(wine_base, tmp_path / f"prefix-{len(made)}")
        made.append(clone)
        return clone

    yield make
    for clone in made:
        clone.stop()


def outlook_values(reg) -> dict:
    found = {}
    for key in (OUTLOOK, POLICY):
        found.update(reg.export(key))
    # keys without values (the parents reg export lists) carry nothing to compare
    return found


def set_values(data: bytes) -> dict:
    return {(v.key, v.name): (v.type, v.data) for v in regfile.parse(data) if v.type != "delete"}


def deleted(data: bytes) -> set:
    return {(v.key, v.name) for v in regfile.parse(data) if v.type == "delete"}


def extra(tmp_path, accounts, **options):
    return {
        "mailops_allow_unverified": True,
        "mailops_outlook_output_dir": str(tmp_path / "out"),
        "mailops_servers": SERVERS,
        "mailops_accounts": accounts,
        **options,
    }


def test_every_reg_file_of_the_role_imports_as_written(ansible_playbook, registry, tmp_path):
    accounts = [
        {"email": "alice@example.test", "server": "example", "user": "alice", "display_name": 'Alice "A" Grüße'},
        {"email": "bob@example.test", "server": "pop", "user": "bob", "username": "EXAMPLE\\bob"},
        {"email": "info@example.test", "server": "example"},
    ]
    options = {
        "mailops_outlook_prf": True,
        "mailops_outlook_profile_registry": True,
        "mailops_outlook_profile_registry_subkeys": {"alice@example.test": "00000002", "bob@example.test": "0000000a"},
    }
    run = ansible_playbook(PLAY, extra_vars=extra(tmp_path, accounts, **options))
    assert recap(run) == {"changed": 1, "failed": 0}, run.stdout
    policy = ansible_playbook(
        PLAY,
        extra_vars=extra(
            tmp_path / "policy",
            accounts[:1],
            mailops_outlook_autodiscover_policy_key=True,
            mailops_outlook_windows_dir="D:\\",
        ),
    )
    assert recap(policy) == {"changed": 1, "failed": 0}, policy.stdout
    files = sorted((tmp_path / "out").rglob("*.reg")) + sorted((tmp_path / "policy" / "out").rglob("*.reg"))
    assert len(files) == 4, files
    for path in files:
        data = path.read_bytes()
        reg = registry()
        start = time.monotonic()
        reg.import_reg(path)
        assert time.monotonic() - start < 30
        got = outlook_values(reg)
        assert got == set_values(data), path
        assert not deleted(data) & set(got)


def test_removal_reg_deletes_what_is_gone_and_nothing_else(ansible_playbook, registry, tmp_path):
    out = tmp_path / "out" / "localhost" / "alice"
    accounts = [
        {"email": "alice@example.test", "server": "example", "user": "alice"},
        {"email": "alice@other.test", "server": "example", "user": "alice"},
    ]
    options = {
        "mailops_outlook_prf": True,
        "mailops_outlook_profile_registry": True,
        "mailops_outlook_profile_registry_subkeys": {"alice@example.test": "00000002"},
    }
    first = ansible_playbook(PLAY, extra_vars=extra(tmp_path, accounts, **options))
    assert recap(first) == {"changed": 1, "failed": 0}, first.stdout
    reg = registry()
    # values another program wrote in the same keys: Outlook's own account value, another tool's setting
    foreign = tmp_path / "foreign.reg"
    foreign.write_bytes(
        b"\xff\xfe"
        + (
            "Windows Registry Editor Version 5.00\r\n\r\n"
            f"[{PROFILE_KEY}]\r\n"
            '"clsid"="{ED475415-B0D6-11D2-8C3B-00104B2A6676}"\r\n\r\n'
            f"[{AD_KEY}]\r\n"
            '"ZeroConfigExchange"=dword:00000000\r\n\r\n'
        ).encode("utf-16-le")
    )
    reg.import_reg(foreign)
    reg.import_reg(out / "mailops-outlook.reg")
    before = outlook_values(reg)
    assert before[(AD_KEY, "other.test")][0] == "REG_SZ"
    assert before[(PROFILE_KEY, "IMAP Server")][0] == "REG_BINARY"

    # alice@other.test left the inventory, alice@example.test moved to a POP3 server, the PRF is switched off
    moved = [{"email": "alice@example.test", "server": "pop", "user": "alice", "username": "alice"}]
    options["mailops_outlook_prf"] = False
    check = ansible_playbook(PLAY, extra_vars=extra(tmp_path, moved, **options), check=True, extra_args=["--diff"])
    assert recap(check) == {"changed": 1, "failed": 0}, check.stdout
    assert '+"other.test"=-' in check.stdout and '+"IMAP Server"=-' in check.stdout, check.stdout
    assert not (out / "mailops-outlook-remove.reg").exists()

    second = ansible_playbook(PLAY, extra_vars=extra(tmp_path, moved, **options))
    assert recap(second) == {"changed": 1, "failed": 0}, second.stdout
    new, removal = (out / "mailops-outlook.reg").read_bytes(), (out / "mailops-outlook-remove.reg").read_bytes()
    removed = deleted(removal)
    assert {(AD_KEY, "other.test"), (OUTLOOK + "\\Setup", "ImportPRF"), (PROFILE_KEY, "IMAP Server")} <= removed
    assert (AD_KEY, "PreferLocalXML") not in removed  # alice@example.test still needs it
    reg.import_reg(out / "mailops-outlook.reg")
    reg.import_reg(out / "mailops-outlook-remove.reg")
    after = outlook_values(reg)
    assert not removed & set(after)
    foreign_values = {(PROFILE_KEY, "clsid"), (AD_KEY, "ZeroConfigExchange")}
    assert after == {**set_values(new), **{k: before[k] for k in foreign_values}}
    # everything the first run set and the second does not is gone, the rest is as the second run set it
    assert set(before) - set(after) == removed & set(before)

    again = ansible_playbook(PLAY, extra_vars=extra(tmp_path, moved, **options))
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout
    assert (out / "mailops-outlook-remove.reg").read_bytes() == removal


ROLE_RESULT_PLAY = windows_host_play(
    "\"RESULT={{ {'windows': __outlook_result.windows, 'removed': __outlook_result.removed_registry,"
    " 'notes': __outlook_result.notes} | to_json }}\""
)


def role_result(run) -> dict:
    match = re.search(r'"msg": "RESULT=(.*)"\n', run.stdout)
    assert match, run.stdout
    return json.loads(json.loads(f'"{match.group(1)}"'))


def test_state_absent_and_rename_through_the_role(ansible_playbook, registry, tmp_path):
    out = tmp_path / "out" / "localhost"
    accounts = [
        {"email": "alice@example.test", "server": "example", "user": "alice"},
        {"email": "bob@example.test", "server": "example", "user": "bob"},
        {"email": "carol@other.test", "server": "pop", "user": "carol", "username": "carol"},
    ]
    first = ansible_playbook(PLAY, extra_vars=extra(tmp_path, accounts, mailops_outlook_prf=True))
    assert recap(first) == {"changed": 1, "failed": 0}, first.stdout
    regs = {user: registry() for user in ("alice", "bob", "carol")}
    for user, reg in regs.items():
        reg.import_reg(out / user / "mailops-outlook.reg")

    # bob is offboarded (his server is already gone), carol renamed to a new domain, alice unchanged
    later = [
        accounts[0],
        {"email": "bob@example.test", "server": "decommissioned", "user": "bob", "state": "absent"},
        {
            "email": "carol@new.test",
            "previous_email": "carol@other.test",
            "server": "pop",
            "user": "carol",
            "username": "carol",
        },
    ]
    second = ansible_playbook(
        ROLE_RESULT_PLAY, extra_vars=extra(tmp_path, later, mailops_outlook_prf=True), extra_args=SKIP_APPLYING
    )
    assert recap(second) == {"changed": 1, "failed": 0}, second.stdout
    result = role_result(second)
    assert sorted((r["user"], r["name"]) for r in result["removed"]) == [
        ("bob", "ExcludeExplicitO365Endpoint"),
        ("bob", "ImportPRF"),
        ("bob", "PreferLocalXML"),
        ("bob", "example.test"),
        ("carol", "other.test"),
    ]
    windows = result["windows"]
    assert [
        (i["user"], i["name"]) for i in windows["registry"] if i["state"] == "absent" and not i["on_prf_change"]
    ] == [(r["user"], r["name"]) for r in result["removed"]]
    win = "C:\\ProgramData\\mailops.clients\\outlook"
    assert windows["removed_files"] == [
        {"dest": f"{win}\\carol\\autodiscover\\other.test.xml", "kind": "autodiscover", "user": "carol"},
        {"dest": f"{win}\\bob\\autodiscover\\example.test.xml", "kind": "autodiscover", "user": "bob"},
        {"dest": f"{win}\\bob\\mailops-outlook.prf", "kind": "prf", "user": "bob"},
    ]
    assert any(n.startswith("user bob: ") and "A PRF cannot remove an account" in n for n in result["notes"]), result[
        "notes"
    ]

    for user, reg in regs.items():
        for name in ("mailops-outlook.reg", "mailops-outlook-remove.reg"):
            if (out / user / name).exists():
                reg.import_reg(out / user / name)
    assert outlook_values(regs["bob"]) == {}
    assert outlook_values(regs["alice"]) == set_values((out / "alice" / "mailops-outlook.reg").read_bytes())
    carol = outlook_values(regs["carol"])
    assert carol == set_values((out / "carol" / "mailops-outlook.reg").read_bytes())
    assert (AD_KEY, "new.test") in carol and (AD_KEY, "other.test") not in carol

    again = ansible_playbook(PLAY, extra_vars=extra(tmp_path, later, mailops_outlook_prf=True))
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout
