# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Account lifecycle of the Outlook files on disk (Autodiscover XML, PRF, .reg): offboarding (state: absent), an
account that leaves the inventory, a file changed by hand, check mode, idempotence.

Real files in a temporary controller directory, through the outlook role; the manifest beside them is read back.
"""

from __future__ import annotations

import hashlib
import json
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "unit" / "plugins" / "plugin_utils"))
import regfile  # noqa: E402
from ansible_recap import flat_output, recap, squeeze

pytestmark = pytest.mark.slow

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
    }
}
MANIFEST = ".mailops-clients-outlook.json"
ALICE = ["alice/autodiscover/example.test.xml", "alice/mailops-outlook.prf", "alice/mailops-outlook.reg"]
BOB = ["bob/autodiscover/other.test.xml", "bob/mailops-outlook.prf", "bob/mailops-outlook.reg"]
CAROL = ["carol/autodiscover/example.test.xml", "carol/mailops-outlook.prf", "carol/mailops-outlook.reg"]


def role_vars(tmp_path, *accounts):
    return {
        "mailops_allow_unverified": True,
        "mailops_outlook_output_dir": str(tmp_path / "out"),
        "mailops_outlook_prf": True,
        "mailops_servers": SERVERS,
        "mailops_accounts": list(accounts),
    }


def account(user, domain="example.test", **extra):
    return {"email": f"{user}@{domain}", "server": "example", "user": user, **extra}


def tree(root: Path) -> list:
    """The files, without the backups (the role keeps one of each file it replaces or removes)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.endswith("~"))


def test_offboarding_implicit_removal_check_mode_and_idempotence(ansible_playbook, tmp_path):
    out = tmp_path / "out" / "localhost"
    first = ansible_playbook(PLAY, extra_vars=role_vars(tmp_path, account("alice"), account("bob", "other.test")))
    assert recap(first) == {"changed": 1, "failed": 0}, first.stdout
    assert tree(out) == sorted([MANIFEST, *ALICE, *BOB])
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["format"] == 1 and manifest["client"] == "outlook"
    assert manifest["files"] == {
        path: {
            "accounts": ["alice@example.test" if path.startswith("alice/") else "bob@other.test"],
            "sha256": hashlib.sha256((out / path).read_bytes()).hexdigest(),
        }
        for path in ALICE + BOB
    }
    assert stat.S_IMODE((out / MANIFEST).stat().st_mode) == 0o600
    alice = {path: (out / path).read_bytes() for path in ALICE}

    offboarded = role_vars(tmp_path, account("alice"), account("bob", "other.test", state="absent"))
    check = ansible_playbook(PLAY, extra_vars=offboarded, check=True, extra_args=["--diff"])
    assert recap(check) == {"changed": 1, "failed": 0}, check.stdout
    assert tree(out) == sorted([MANIFEST, *ALICE, *BOB])
    assert f"--- before: {out / 'bob' / 'mailops-outlook.prf'}\n+++ after: (absent)" in check.stdout

    run = ansible_playbook(PLAY, extra_vars=offboarded)
    assert recap(run) == {"changed": 1, "failed": 0}, run.stdout
    # bob's removal .reg deletes the registry values his .reg set (it stays: see docs/outlook.md, Lifecycle)
    bob_removal = "bob/mailops-outlook-remove.reg"
    assert tree(out) == sorted([MANIFEST, *ALICE, bob_removal])
    assert sorted(p.name.split(".")[0] for p in (out / "bob").rglob("*~")) == [
        "mailops-outlook",
        "mailops-outlook",
        "other",
    ]
    assert {path: (out / path).read_bytes() for path in ALICE} == alice
    assert sorted(json.loads((out / MANIFEST).read_text())["files"]) == sorted([*ALICE, bob_removal])
    again = ansible_playbook(PLAY, extra_vars=offboarded)
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout

    # carol arrives, her PRF is edited by hand, then she leaves the inventory without a word
    both = role_vars(tmp_path, account("alice"), account("carol"))
    assert recap(ansible_playbook(PLAY, extra_vars=both))["failed"] == 0
    assert tree(out) == sorted([MANIFEST, *ALICE, *CAROL, bob_removal])
    edited = (out / "carol" / "mailops-outlook.prf").read_bytes() + b"; edited by hand\r\n"
    (out / "carol" / "mailops-outlook.prf").write_bytes(edited)
    gone = ansible_playbook(PLAY, extra_vars=role_vars(tmp_path, account("alice")))
    assert recap(gone) == {"changed": 1, "failed": 0}, gone.stdout
    assert tree(out) == sorted(
        [MANIFEST, *ALICE, "carol/mailops-outlook.prf", "carol/mailops-outlook-remove.reg", bob_removal]
    )
    assert (out / "carol" / "mailops-outlook.prf").read_bytes() == edited
    assert squeeze(
        f"[WARNING]: left {out / 'carol' / 'mailops-outlook.prf'}: it changed since mailops.clients wrote it (for "
        "carol@example.test); remove it by hand when it is no longer needed"
    ) in squeeze(flat_output(gone))
    again = ansible_playbook(PLAY, extra_vars=role_vars(tmp_path, account("alice")))
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout
    assert {path: (out / path).read_bytes() for path in ALICE} == alice


def deletes_every_value_of(removal: Path, *reg_files: bytes) -> bool:
    """The removal .reg deletes exactly the values the earlier .reg files set (same key, same name)."""
    written = {(v.key, v.name) for data in reg_files for v in regfile.parse(data) if v.type != "delete"}
    return {(v.key, v.name, v.type) for v in regfile.parse(removal.read_bytes())} == {
        (key, name, "delete") for key, name in written
    }


def test_host_level_removal_with_the_role(ansible_playbook, tmp_path):
    out = tmp_path / "out" / "localhost"
    extra = role_vars(tmp_path, account("alice"), account("bob", "other.test"))
    assert recap(ansible_playbook(PLAY, extra_vars=extra)) == {"changed": 1, "failed": 0}
    regs = {user: (out / user / "mailops-outlook.reg").read_bytes() for user in ("alice", "bob")}

    extra["mailops_outlook_state"] = "absent"
    del extra["mailops_allow_unverified"]  # nothing is rendered: nothing needs to verify
    check = ansible_playbook(PLAY, extra_vars=extra, check=True)
    assert recap(check) == {"changed": 1, "failed": 0}, check.stdout
    assert tree(out) == sorted([MANIFEST, *ALICE, *BOB])
    run = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(run) == {"changed": 1, "failed": 0}, run.stdout
    # every file of the manifest is gone; what is left deletes every registry value the .reg files set
    removals = ["alice/mailops-outlook-remove.reg", "bob/mailops-outlook-remove.reg"]
    assert tree(out) == sorted([MANIFEST, *removals])
    assert sorted(json.loads((out / MANIFEST).read_text())["files"]) == removals
    for user in ("alice", "bob"):
        assert deletes_every_value_of(out / user / "mailops-outlook-remove.reg", regs[user])
    again = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout


def test_an_emptied_account_list_still_removes(ansible_playbook, tmp_path):
    """No account at all left for the host: the manifest beside the files still has the role remove them."""
    out = tmp_path / "out" / "localhost"
    assert recap(ansible_playbook(PLAY, extra_vars=role_vars(tmp_path, account("alice")))) == {
        "changed": 1,
        "failed": 0,
    }
    reg = (out / "alice" / "mailops-outlook.reg").read_bytes()
    run = ansible_playbook(PLAY, extra_vars=role_vars(tmp_path))
    assert recap(run) == {"changed": 1, "failed": 0}, run.stdout
    assert tree(out) == sorted([MANIFEST, "alice/mailops-outlook-remove.reg"])
    assert deletes_every_value_of(out / "alice" / "mailops-outlook-remove.reg", reg)
