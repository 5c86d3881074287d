# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The outlook role through ansible-playbook: files on disk, idempotence, backups, diffs, the gate, Windows data.

No mail lab and no Windows host needed: the gate is passed with mailops_allow_unverified or a mailops_verified
fact built here; what the role would apply on Windows is checked in the windows result of its outlook_profiles task.
"""

from __future__ import annotations

import json
import re
import stat
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import endpoint_key
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import normalize_accounts

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "unit" / "plugins" / "plugin_utils"))
import regfile  # noqa: E402
from ansible_recap import flat_output, recap
from windows_host import SKIP_APPLYING, windows_host_play  # noqa: E402

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
PASSWORD = "alice-lab-pw-1"
NS_O = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
AD_KEY = "HKEY_CURRENT_USER\\Software\\Microsoft\\Office\\16.0\\Outlook\\AutoDiscover"
WIN = "C:\\ProgramData\\mailops.clients\\outlook"


def base_vars(tmp_path, **extra):
    result = {
        "mailops_allow_unverified": True,
        "mailops_outlook_output_dir": str(tmp_path / "out"),
        "mailops_servers": SERVERS,
        "mailops_accounts": [
            {
                "email": "alice@example.test",
                "server": "example",
                "user": "alice",
                "password": PASSWORD,
                "display_name": "Alice Example",
            },
            {"email": "bob@other.test", "server": "example", "user": "bob", "password": "bob-lab-pw-2"},
        ],
    }
    result.update(extra)
    return result


MANIFEST = ".mailops-clients-outlook.json"  # what was written, beside it (test_outlook_lifecycle.py)


def tree(root: Path) -> list:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)


def test_check_run_idempotence(ansible_playbook, tmp_path):
    out = tmp_path / "out" / "localhost"
    extra = base_vars(tmp_path, mailops_outlook_prf=True)

    check = ansible_playbook(PLAY, extra_vars=extra, check=True)
    assert recap(check) == {"changed": 1, "failed": 0}, check.stdout
    assert not out.exists()

    run = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(run) == {"changed": 1, "failed": 0}, run.stdout
    assert tree(out) == [
        "alice/autodiscover/example.test.xml",
        "alice/mailops-outlook.prf",
        "alice/mailops-outlook.reg",
        "bob/autodiscover/other.test.xml",
        "bob/mailops-outlook.prf",
        "bob/mailops-outlook.reg",
    ]
    for path in (p for p in out.rglob("*") if p.name != MANIFEST):
        assert stat.S_IMODE(path.stat().st_mode) == (0o755 if path.is_dir() else 0o644), path
    reg = regfile.as_dict(regfile.parse((out / "alice" / "mailops-outlook.reg").read_bytes()))
    assert reg[AD_KEY]["example.test"].data == f"{WIN}\\alice\\autodiscover\\example.test.xml"
    assert reg[AD_KEY]["PreferLocalXML"].data == 1
    root = ET.fromstring((out / "alice" / "autodiscover" / "example.test.xml").read_bytes())  # noqa: S314
    ports = [p.find(f"{NS_O}Port").text for p in root.iter(f"{NS_O}Protocol")]
    assert ports == ["993", "587"]
    assert "passwords not written (alice@example.test, bob@other.test)" in run.stdout
    first = {p: (out / p).read_bytes() for p in tree(out)}

    again_check = ansible_playbook(PLAY, extra_vars=extra, check=True)
    assert recap(again_check) == {"changed": 0, "failed": 0}, again_check.stdout
    again = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout
    assert {p: (out / p).read_bytes() for p in tree(out)} == first


def test_backups_and_diffs_never_show_a_secret(ansible_playbook, tmp_path):
    out = tmp_path / "out" / "localhost"
    extra = base_vars(tmp_path)
    first = ansible_playbook(PLAY, extra_vars=extra, verbosity=4, extra_args=["--diff"])
    assert recap(first) == {"changed": 1, "failed": 0}
    assert "+        <LoginName>alice@example.test</LoginName>" in first.stdout
    old = (out / "alice" / "autodiscover" / "example.test.xml").read_bytes()

    extra["mailops_accounts"][0]["display_name"] = "Alice Renamed"
    extra["mailops_accounts"][0]["password"] = "a-new-password-9"
    changed = ansible_playbook(PLAY, extra_vars=extra, verbosity=4, extra_args=["--diff"])
    assert recap(changed) == {"changed": 1, "failed": 0}
    assert "-      <DisplayName>Alice Example</DisplayName>\n+      <DisplayName>Alice Renamed</DisplayName>" in (
        changed.stdout
    )
    for result in (first, changed):
        for secret in (PASSWORD, "bob-lab-pw-2", "a-new-password-9"):
            assert secret not in result.stdout + result.stderr
    backups = [p for p in (out / "alice" / "autodiscover").iterdir() if p.name.startswith("example.test.xml.")]
    assert len(backups) == 1
    assert backups[0].read_bytes() == old
    # bob's files did not change: no backup for them
    assert tree(out / "bob") == ["autodiscover/other.test.xml", "mailops-outlook.reg"]


def test_gate_blocks_unverified_accounts(ansible_playbook, tmp_path):
    run = ansible_playbook(PLAY, extra_vars=base_vars(tmp_path, mailops_allow_unverified=False))
    assert recap(run)["failed"] == 1
    assert (
        "outlook: refusing to render 2 accounts on localhost whose settings did not verify "
        "(alice@example.test, bob@other.test)"
    ) in run.stdout + run.stderr
    assert not (tmp_path / "out").exists()


def test_gate_passes_verified_accounts(ansible_playbook, tmp_path):
    accounts = normalize_accounts(base_vars(tmp_path)["mailops_accounts"], SERVERS, "localhost")
    keys = {endpoint_key(a[d]) for a in accounts for d in ("incoming", "outgoing")}
    verified = {"endpoints": {k: {"verdict": "ok", "findings": []} for k in keys}, "accounts": {}}
    play = PLAY.replace(
        "  roles:",
        "  pre_tasks:\n    - name: Verified\n      ansible.builtin.set_fact:\n"
        "        mailops_verified: " + json.dumps(verified) + "\n  roles:",
    )
    run = ansible_playbook(play, extra_vars=base_vars(tmp_path, mailops_allow_unverified=False))
    assert recap(run) == {"changed": 1, "failed": 0}, run.stdout
    assert "whose settings did not verify (" not in run.stdout + run.stderr
    assert (tmp_path / "out" / "localhost" / "bob" / "autodiscover" / "other.test.xml").is_file()


def test_oauth2_account_is_refused_skipped_or_excluded(ansible_playbook, tmp_path):
    servers = dict(
        SERVERS,
        cloud={
            "incoming": {"protocol": "imap", "host": "imap.cloud.test", "auth": "oauth2"},
            "outgoing": {"host": "smtp.cloud.test", "auth": "oauth2"},
        },
    )
    accounts = [
        *base_vars(tmp_path)["mailops_accounts"],
        {"email": "carol@cloud.test", "server": "cloud", "user": "carol", "oauth2": {"issuer": "i.test", "scope": "m"}},
    ]
    extra = base_vars(tmp_path, mailops_servers=servers, mailops_accounts=accounts)
    run = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(run)["failed"] == 1
    assert (
        "account carol@cloud.test: cannot be provisioned for Outlook (autodiscover): incoming auth oauth2: classic "
        "Outlook offers OAuth 2.0 for IMAP/POP only to providers it knows itself"
    ) in run.stdout
    assert not (tmp_path / "out" / "localhost").exists()

    extra["mailops_outlook_unsupported"] = "skip"
    skipped = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(skipped) == {"changed": 1, "failed": 0}
    assert "[WARNING]: account carol@cloud.test: left out of the Outlook autodiscover output" in (flat_output(skipped))
    assert not (tmp_path / "out" / "localhost" / "carol").exists()

    extra["mailops_outlook_unsupported"] = "fail"
    extra["mailops_outlook_exclude"] = ["carol@cloud.test"]
    excluded = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(excluded) == {"changed": 0, "failed": 0}


def test_argument_spec_and_destination_checks(ansible_playbook, tmp_path):
    run = ansible_playbook(PLAY, extra_vars=base_vars(tmp_path, mailops_outlook_prf_import="gpo"))
    assert recap(run)["failed"] == 1
    assert "value of mailops_outlook_prf_import must be one of: registry, none, got: gpo" in run.stdout
    nowhere = ansible_playbook(PLAY, extra_vars=base_vars(tmp_path, mailops_outlook_output_dir=None))
    assert recap(nowhere)["failed"] == 1
    assert "mailops.clients.outlook needs mailops_outlook_output_dir" in nowhere.stdout


WINDOWS_PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: What the role would apply on a Windows host
      ansible.builtin.set_fact:
        items: >-
          {{ mailops_accounts
             | mailops.clients.mail_accounts_normalize(mailops_servers, host=inventory_hostname)
             | mailops.clients.mail_outlook_windows({'prf': true, 'windows_dir': mailops_outlook_windows_dir}) }}
    - name: Show them
      ansible.builtin.debug:
        msg: "ITEMS={{ items | to_json }}"
"""


def test_windows_data_for_win_regedit_and_win_copy(ansible_playbook, tmp_path):
    run = ansible_playbook(WINDOWS_PLAY, extra_vars=base_vars(tmp_path, mailops_outlook_windows_dir="D:\\Mail"))
    assert recap(run) == {"changed": 0, "failed": 0}, run.stdout
    match = re.search(r'"msg": "ITEMS=(.*)"\n', run.stdout)
    assert match, run.stdout
    items = json.loads(json.loads(f'"{match.group(1)}"'))
    assert [(f["src"], f["dest"], f["user"]) for f in items["files"]] == [
        ("alice/autodiscover/example.test.xml", "D:\\Mail\\alice\\autodiscover\\example.test.xml", "alice"),
        ("alice/mailops-outlook.prf", "D:\\Mail\\alice\\mailops-outlook.prf", "alice"),
        ("bob/autodiscover/other.test.xml", "D:\\Mail\\bob\\autodiscover\\other.test.xml", "bob"),
        ("bob/mailops-outlook.prf", "D:\\Mail\\bob\\mailops-outlook.prf", "bob"),
    ]
    ad = "HKCU:\\Software\\Microsoft\\Office\\16.0\\Outlook\\AutoDiscover"
    setup = "HKCU:\\Software\\Microsoft\\Office\\16.0\\Outlook\\Setup"
    alice = [
        (i["path"], i["name"], i["type"], i["data"], i["state"], i["on_prf_change"])
        for i in items["registry"]
        if i["user"] == "alice"
    ]
    assert alice == [
        (ad, "example.test", "string", "D:\\Mail\\alice\\autodiscover\\example.test.xml", "present", False),
        (ad, "PreferLocalXML", "dword", 1, "present", False),
        (ad, "ExcludeExplicitO365Endpoint", "dword", 1, "present", False),
        (setup, "ImportPRF", "string", "D:\\Mail\\alice\\mailops-outlook.prf", "present", True),
        (setup, "First-Run", None, None, "absent", True),
        (setup, "FirstRun", None, None, "absent", True),
    ]
    assert PASSWORD not in run.stdout


ROLE_WINDOWS_PLAY = windows_host_play('"ITEMS={{ __outlook_result.windows | to_json }}"')

ROLE_RESULT_PLAY = """
- hosts: all
  gather_facts: false
  roles:
    - role: mailops.clients.outlook
  tasks:
    - name: What the role's outlook_profiles task returned
      ansible.builtin.debug:
        msg: "KEYS={{ __outlook_result.keys() | sort | join(',') }}"
"""


def _items(run) -> dict:
    match = re.search(r'"msg": "ITEMS=(.*)"\n', run.stdout)
    assert match, run.stdout
    return json.loads(json.loads(f'"{match.group(1)}"'))


def test_a_host_that_is_not_windows_keeps_no_windows_plan(ansible_playbook, tmp_path):
    """The role registers the outlook_profiles result on every host; a host that is not Windows does not get the plan
    of what to apply on Windows in it (most of the result), a Windows host does (test below)."""
    run = ansible_playbook(ROLE_RESULT_PLAY, extra_vars=base_vars(tmp_path))
    keys = re.search(r'"msg": "KEYS=(.*)"', run.stdout)
    assert keys, run.stdout
    keys = set(keys.group(1).split(","))
    assert {"files", "registry", "removed", "removed_registry", "notes"} <= keys and "windows" not in keys, keys


def test_windows_task_file_applies_the_action_result(ansible_playbook, tmp_path):
    """tasks/windows.yml cannot run here (no ansible.windows): it loops over the windows result of the role's
    outlook_profiles task (nothing rendered twice), which holds what the mail_outlook_windows filter gives and every
    key the tasks use."""
    tasks = yaml.safe_load(
        (Path(__file__).resolve().parents[4] / "roles" / "outlook" / "tasks" / "windows.yml").read_text()
    )
    modules = [next(k for k in task if "." in k) for task in tasks]
    assert modules == [
        "ansible.windows.win_file",
        "ansible.windows.win_copy",
        "ansible.windows.win_regedit",
        "ansible.windows.win_regedit",
        "ansible.windows.win_file",
    ]
    assert all(task["loop"].startswith("{{ __outlook_result.windows.") for task in tasks), tasks
    dumped = yaml.safe_dump(tasks)
    assert "clients.outlook_windows" not in dumped and "mail_outlook_windows" not in dumped  # no second rendering
    extra = base_vars(tmp_path, mailops_outlook_windows_dir="D:\\Mail", mailops_outlook_prf=True)
    role = _items(ansible_playbook(ROLE_WINDOWS_PLAY, extra_vars=extra, extra_args=SKIP_APPLYING))
    assert [(f["src"], f["dest"], f["user"]) for f in role["files"]] == [
        ("alice/autodiscover/example.test.xml", "D:\\Mail\\alice\\autodiscover\\example.test.xml", "alice"),
        ("alice/mailops-outlook.prf", "D:\\Mail\\alice\\mailops-outlook.prf", "alice"),
        ("bob/autodiscover/other.test.xml", "D:\\Mail\\bob\\autodiscover\\other.test.xml", "bob"),
        ("bob/mailops-outlook.prf", "D:\\Mail\\bob\\mailops-outlook.prf", "bob"),
    ]
    assert role == _items(ansible_playbook(WINDOWS_PLAY, extra_vars=extra))
    for task, kind in zip(tasks[1:], ("files", "registry", "registry")):
        used = set(re.findall(r"\bitem\.(\w+)", yaml.safe_dump(task)))
        assert used <= set(role[kind][0]), (task["name"], used)
    assert role["removed_files"] == []
    assert set(re.findall(r"\bitem\.(\w+)", yaml.safe_dump(tasks[4]))) <= {"dest", "kind", "user"}


def test_a_user_gone_from_the_inventory_is_found_through_the_manifest(ansible_playbook, tmp_path):
    """bob's only account left the inventory (no state: absent): the manifest beside the files lists his .reg."""
    out = tmp_path / "out" / "localhost"
    extra = base_vars(tmp_path)
    first = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(first) == {"changed": 1, "failed": 0}, first.stdout + first.stderr
    bob_reg = (out / "bob" / "mailops-outlook.reg").read_bytes()
    assert "bob/mailops-outlook.reg" in json.loads((out / ".mailops-clients-outlook.json").read_text())["files"]
    extra["mailops_accounts"] = extra["mailops_accounts"][:1]
    check = ansible_playbook(PLAY, extra_vars=extra, check=True, extra_args=["--diff"])
    assert recap(check) == {"changed": 1, "failed": 0}, check.stdout
    assert '+"other.test"=-' in check.stdout
    run = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(run) == {"changed": 1, "failed": 0}, run.stdout
    removal = regfile.parse((out / "bob" / "mailops-outlook-remove.reg").read_bytes())
    assert {(v.key, v.name, v.type) for v in removal} == {
        (v.key, v.name, "delete") for v in regfile.parse(bob_reg) if v.type != "delete"
    }
    assert not (out / "alice" / "mailops-outlook-remove.reg").exists()
    assert not (out / "bob" / "mailops-outlook.reg").exists()  # the file itself went through the manifest
    again = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(again) == {"changed": 0, "failed": 0}, again.stdout
