# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Account lifecycle of the Apple profiles on disk: offboarding (state: absent), accounts that leave the
inventory, a profile changed by hand, check mode, idempotence, and the role's host-level removal.

Real files in a temporary controller directory, through ansible-playbook; the manifest beside the profiles is read
back and compared with the bytes on disk.
"""

from __future__ import annotations

import hashlib
import json
import plistlib
import stat
import sys
from pathlib import Path

import pytest
from ansible_recap import flat_output, recap, squeeze

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "unit" / "plugins" / "plugin_utils"))
from apple_schema import assert_valid  # noqa: E402

pytestmark = pytest.mark.slow

SERVERS = {
    "example": {
        "incoming": {"protocol": "imap", "host": "mail.example.test", "security": "tls"},
        "outgoing": {"host": "mail.example.test", "security": "starttls"},
    }
}
PASSWORD = "alice-lab-pw-1"


def profile(path):
    loaded = plistlib.loads(path.read_bytes())
    assert_valid(loaded)
    return loaded


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


MANIFEST = ".mailops-clients-apple_mail.json"
ACTION_PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Profiles
      mailops.clients.apple_mail_profiles:
        accounts: "{{ mailops_accounts | mailops.clients.mail_accounts_normalize(mailops_servers, host='h') }}"
        gate: {allow_unverified: true}
        options: {identifier_prefix: test.example.mail, group_by: "{{ group_by | default('user') }}"}
        dest_dir: "{{ out }}"
      register: result
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ result | to_json }}"
        dest: "{{ result_file }}"
        mode: "0644"
      check_mode: false
      changed_when: false  # test scaffolding
"""
ROLE_PLAY = """
- hosts: all
  gather_facts: false
  roles:
    - role: mailops.clients.apple_mail
"""


def accounts(*names, **changes):
    result = []
    for name in names:
        account = {"email": f"{name}@example.test", "server": "example", "user": name}
        if name == "alice":
            account["password"] = PASSWORD
        account.update(changes.get(name, {}))
        result.append(account)
    return result


class Run:
    def __init__(self, ansible_playbook, tmp_path):
        self.play = ansible_playbook
        self.out = tmp_path / "out"
        self.result_file = tmp_path / "result.json"

    def __call__(self, account_list, check=False, **extra):
        extra_vars = {
            "mailops_servers": SERVERS,
            "mailops_accounts": account_list,
            "out": str(self.out),
            "result_file": str(self.result_file),
            **extra,
        }
        run = self.play(ACTION_PLAY, extra_vars=extra_vars, check=check, extra_args=["--diff"])
        return run, json.loads(self.result_file.read_text())

    def names(self):
        return sorted(p.name for p in self.out.iterdir())

    def manifest(self):
        return json.loads((self.out / MANIFEST).read_text())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_offboarding_implicit_removal_check_mode_and_idempotence(ansible_playbook, tmp_path):
    run = Run(ansible_playbook, tmp_path)
    first, result = run(accounts("alice", "bob", "carol"))
    assert recap(first) == {"changed": 1, "failed": 0}, first.stdout
    assert run.names() == [MANIFEST, "alice.mobileconfig", "bob.mobileconfig", "carol.mobileconfig"]
    assert run.manifest() == {
        "format": 1,
        "client": "apple_mail",
        "files": {
            f"{name}.mobileconfig": {
                "accounts": [f"{name}@example.test"],
                "sha256": sha(run.out / f"{name}.mobileconfig"),
                "identifier": f"test.example.mail.{name}",
                "user": name,
            }
            for name in ("alice", "bob", "carol")
        },
    }
    assert mode(run.out / MANIFEST) == 0o600
    assert result["removed"] == []
    kept = {name: (run.out / name).read_bytes() for name in ("alice.mobileconfig", "carol.mobileconfig")}

    # bob is offboarded: check mode says what would go and removes nothing
    offboarded = accounts("alice", "bob", "carol", bob={"state": "absent"})
    check, result = run(offboarded, check=True)
    assert recap(check) == {"changed": 1, "failed": 0}, check.stdout
    bob_removed = {
        "identifier": "test.example.mail.bob",
        "file": "bob.mobileconfig",
        "path": str(run.out / "bob.mobileconfig"),
        "user": "bob",
        "accounts": ["bob@example.test"],
    }
    assert result["removed"] == [bob_removed]
    assert "bob.mobileconfig" in run.names()
    assert f"--- before: {run.out / 'bob.mobileconfig'}\n+++ after: (absent)" in check.stdout

    done, result = run(offboarded)
    assert recap(done) == {"changed": 1, "failed": 0}, done.stdout
    assert result["removed"] == [bob_removed]
    assert run.names() == [MANIFEST, "alice.mobileconfig", "carol.mobileconfig"]
    assert {name: (run.out / name).read_bytes() for name in kept} == kept  # the others are untouched
    for name in kept:
        profile(run.out / name)  # and still pass the Apple schema
    assert sorted(run.manifest()["files"]) == ["alice.mobileconfig", "carol.mobileconfig"]

    again, result = run(offboarded)
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout
    assert result["removed"] == []

    # carol leaves the inventory without a word: what was written for her is removed all the same
    gone, result = run(accounts("alice"))
    assert recap(gone) == {"changed": 1, "failed": 0}, gone.stdout
    assert [entry["identifier"] for entry in result["removed"]] == ["test.example.mail.carol"]
    assert run.names() == [MANIFEST, "alice.mobileconfig"]
    assert (run.out / "alice.mobileconfig").read_bytes() == kept["alice.mobileconfig"]
    again, result = run(accounts("alice"))
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout


def test_a_profile_changed_by_hand_is_left_with_a_warning(ansible_playbook, tmp_path):
    run = Run(ansible_playbook, tmp_path)
    run(accounts("alice", "dave"))
    edited = (run.out / "dave.mobileconfig").read_bytes().replace(b"dave@example.test", b"dave@example.test ")
    (run.out / "dave.mobileconfig").write_bytes(edited)

    left, result = run(accounts("alice", "dave", dave={"state": "absent"}))
    assert recap(left) == {"changed": 1, "failed": 0}, left.stdout  # the manifest no longer claims the file
    assert result["removed"] == []
    assert (run.out / "dave.mobileconfig").read_bytes() == edited
    assert squeeze(
        f"[WARNING]: left {run.out / 'dave.mobileconfig'}: it changed since mailops.clients wrote it (for "
        "dave@example.test); remove it by hand when it is no longer needed"
    ) in squeeze(flat_output(left))
    assert sorted(run.manifest()["files"]) == ["alice.mobileconfig"]
    again, _result = run(accounts("alice", "dave", dave={"state": "absent"}))
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout
    assert (run.out / "dave.mobileconfig").read_bytes() == edited


def test_a_rename_removes_the_profile_of_the_old_address(ansible_playbook, tmp_path):
    run = Run(ansible_playbook, tmp_path)
    run(accounts("alice", "erin"), group_by="account")
    assert run.names() == [MANIFEST, "alice-alice-example-test.mobileconfig", "erin-erin-example-test.mobileconfig"]
    renamed = accounts("alice") + [
        {"email": "erin.new@example.test", "server": "example", "user": "erin", "previous_email": "erin@example.test"}
    ]
    done, result = run(renamed, group_by="account")
    assert recap(done) == {"changed": 1, "failed": 0}, done.stdout
    assert [(e["identifier"], e["accounts"]) for e in result["removed"]] == [
        ("test.example.mail.erin.erin-example-test", ["erin@example.test"])
    ]
    assert run.names() == [
        MANIFEST,
        "alice-alice-example-test.mobileconfig",
        "erin-erin-new-example-test.mobileconfig",
    ]


def test_a_manifest_is_untrusted_input(ansible_playbook, tmp_path):
    run = Run(ansible_playbook, tmp_path)
    run(accounts("alice"))
    outside = tmp_path / "outside.mobileconfig"
    outside.write_bytes(b"not ours\n")
    manifest = run.manifest()
    manifest["files"]["../outside.mobileconfig"] = {"accounts": ["x@example.test"], "sha256": sha(outside)}
    manifest["files"]["notes.txt"] = {"accounts": ["x@example.test"], "sha256": "0" * 64}
    (run.out / MANIFEST).write_text(json.dumps(manifest))
    done, result = run(accounts("alice"))
    assert recap(done)["failed"] == 0, done.stdout
    assert result["removed"] == []
    assert outside.read_bytes() == b"not ours\n"
    text = squeeze(flat_output(done))
    skipped = f'{run.out / MANIFEST}: skipped the entry "../outside.mobileconfig": it is not the name of a file'
    assert squeeze(skipped) in text
    assert sorted(run.manifest()["files"]) == ["alice.mobileconfig"]

    (run.out / MANIFEST).write_text("[1, 2")
    done, result = run([])
    assert squeeze(
        f"ignored {run.out / MANIFEST}: it is not JSON; nothing this collection wrote there before is removed"
    ) in squeeze(flat_output(done))
    assert "alice.mobileconfig" in run.names()


def test_host_level_removal_with_the_role(ansible_playbook, tmp_path):
    extra = {
        "mailops_allow_unverified": True,
        "mailops_apple_mail_output_dir": str(tmp_path / "out"),
        "mailops_apple_mail_identifier_prefix": "test.example.mail",
        "mailops_servers": SERVERS,
        "mailops_accounts": accounts("alice", "bob"),
    }
    out = tmp_path / "out" / "localhost"
    assert recap(ansible_playbook(ROLE_PLAY, extra_vars=extra)) == {"changed": 1, "failed": 0}
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "alice.mobileconfig", "bob.mobileconfig"]

    extra["mailops_apple_mail_state"] = "absent"
    check = ansible_playbook(ROLE_PLAY, extra_vars=extra, check=True)
    assert recap(check) == {"changed": 1, "failed": 0}, check.stdout
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "alice.mobileconfig", "bob.mobileconfig"]
    run = ansible_playbook(ROLE_PLAY, extra_vars=extra)
    assert recap(run) == {"changed": 1, "failed": 0}, run.stdout
    # the profiles and the manifest are gone; the role keeps backups (mailops_apple_mail_backup: true)
    assert sorted(p.name.split(".mobileconfig.")[0] for p in out.iterdir()) == ["alice", "bob"]
    again = ansible_playbook(ROLE_PLAY, extra_vars=extra)
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout
    # with no accounts left at all, the state still works
    extra["mailops_accounts"] = []
    assert recap(ansible_playbook(ROLE_PLAY, extra_vars=extra)) == {"changed": 0, "failed": 0}
