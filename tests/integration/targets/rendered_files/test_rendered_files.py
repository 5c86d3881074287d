# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mailops.clients.rendered_files through ansible-playbook, and the renderers' two ways of writing.

The renderer actions write in one batch, through the rendered_files module on the target or, for a local
connection without become, in their own process (plugin_utils/_deploy.py). Both must leave the same bytes,
modes and idempotence behind: become (su, as root) forces the module path here.
"""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from ansible_recap import recap

pytestmark = pytest.mark.slow


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def module_play(root: Path, files: dict, backup: bool = False) -> str:
    tasks = {
        "mailops.clients.rendered_files": {
            "directories": [{"path": str(root / "conf" / "sub"), "mode": "0750"}],
            "files": [
                {"path": str(root / "conf" / "sub" / name), "content": b64(text), "mode": "0640", "backup": backup}
                for name, text in files.items()
            ],
        },
        "register": "written",
    }
    return json.dumps([{"hosts": "all", "gather_facts": False, "tasks": [tasks, {"debug": {"var": "written"}}]}])


def test_check_run_idempotence_and_backup(ansible_playbook, tmp_path):
    root = tmp_path / "t"
    files = {"a.conf": "alpha\n", "b.conf": "beta\n"}
    play = module_play(root, files)

    check = ansible_playbook(play, check=True)
    assert recap(check) == {"changed": 1, "failed": 0}, check.stdout
    assert not root.exists()

    run = ansible_playbook(play)
    assert recap(run) == {"changed": 1, "failed": 0}, run.stdout
    assert mode(root) == 0o750 and mode(root / "conf") == 0o750 and mode(root / "conf" / "sub") == 0o750
    for name, text in files.items():
        assert (root / "conf" / "sub" / name).read_text() == text
        assert mode(root / "conf" / "sub" / name) == 0o640
    assert sorted(p.name for p in (root / "conf" / "sub").iterdir()) == ["a.conf", "b.conf"]  # no temporary left

    for again in (ansible_playbook(play, check=True), ansible_playbook(play)):
        assert recap(again) == {"changed": 0, "failed": 0}, again.stdout

    # a wrong mode alone is corrected without rewriting; new content is written with a backup of the old
    (root / "conf" / "sub" / "a.conf").chmod(0o666)
    inode = (root / "conf" / "sub" / "a.conf").stat().st_ino
    fixed = ansible_playbook(play)
    assert recap(fixed) == {"changed": 1, "failed": 0}
    assert mode(root / "conf" / "sub" / "a.conf") == 0o640
    assert (root / "conf" / "sub" / "a.conf").stat().st_ino == inode

    changed = ansible_playbook(module_play(root, {"a.conf": "alpha 2\n", "b.conf": "beta\n"}, backup=True))
    assert recap(changed) == {"changed": 1, "failed": 0}, changed.stdout
    backups = [p for p in (root / "conf" / "sub").iterdir() if p.name.startswith("a.conf.") and p.name.endswith("~")]
    assert len(backups) == 1 and backups[0].read_text() == "alpha\n" and mode(backups[0]) == 0o640
    assert (root / "conf" / "sub" / "a.conf").read_text() == "alpha 2\n"
    assert not [p for p in (root / "conf" / "sub").iterdir() if p.name.startswith("b.conf.")]


def test_inspect_reads_files_and_links_and_follows_a_link_when_writing(ansible_playbook, tmp_path):
    (tmp_path / "real.txt").write_text("real\n")
    (tmp_path / "lock").symlink_to("127.0.0.1:+4242")
    (tmp_path / "via-link").symlink_to(tmp_path / "real.txt")
    play = json.dumps(
        [
            {
                "hosts": "all",
                "gather_facts": False,
                "tasks": [
                    {
                        "mailops.clients.rendered_files": {
                            "inspect": [
                                {"path": str(tmp_path / "real.txt"), "read": True},
                                {"path": str(tmp_path / "lock"), "follow": False},
                                {"path": str(tmp_path / "missing")},
                            ],
                            "files": [{"path": str(tmp_path / "via-link"), "content": b64("new\n")}],
                        },
                        "register": "seen",
                    },
                    {"copy": {"content": "{{ seen | to_json }}", "dest": str(tmp_path / "seen.json")}},
                ],
            }
        ]
    )
    run = ansible_playbook(play)
    assert recap(run)["failed"] == 0, run.stdout
    seen = json.loads((tmp_path / "seen.json").read_text())
    real, lock, missing = seen["inspected"]
    assert (real["exists"], real["type"], base64.b64decode(real["content"])) == (True, "file", b"real\n")
    assert (lock["exists"], lock["type"], lock["link_target"]) == (True, "link", "127.0.0.1:+4242")
    assert (missing["exists"], missing["type"]) == (False, None)
    assert (tmp_path / "via-link").is_symlink() and (tmp_path / "real.txt").read_text() == "new\n"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"path": "{d}", "content": b64("x")}, "{d} exists and is not a regular file; move it away or choose another"),
        (
            {"path": "{d}/f", "content": "not base64!"},
            "files[0].content ({d}/f) is not base64; encode it with b64encode",
        ),
        (
            {"path": "{d}/f", "content": b64("x"), "mode": "u=rw"},
            "{d}/f: mode 'u=rw' is not an octal mode or a complete symbolic one; give one such as '0644' or 'u=rw,",
        ),
        ({"path": "{d}/no/f", "content": b64("x")}, "cannot write {d}/no/f: the directory {d}/no does not exist"),
        ({"path": "{d}/f", "content": b64("x"), "owner": "no-such-user-x"}, "{d}/f: owner 'no-such-user-x' does not"),
    ],
)
def test_errors_name_the_path_and_the_fix(ansible_playbook, tmp_path, files, message):
    spec = {k: v.format(d=tmp_path) if isinstance(v, str) else v for k, v in files.items()}
    play = json.dumps(
        [{"hosts": "all", "gather_facts": False, "tasks": [{"mailops.clients.rendered_files": {"files": [spec]}}]}]
    )
    run = ansible_playbook(play)
    assert recap(run)["failed"] == 1
    assert message.format(d=tmp_path) in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


RENDER_PLAY = """
- hosts: all
  gather_facts: false
  vars:
    servers:
      example:
        incoming: {protocol: imap, host: mail.example.test, security: tls}
        outgoing: {host: mail.example.test, security: starttls}
    accounts: >-
      {{ [{'email': 'alice@example.test', 'server': 'example', 'user': 'alice', 'display_name': 'Alice'},
          {'email': 'bob@example.test', 'server': 'example', 'user': 'bob'}]
         | mailops.clients.mail_accounts_normalize(servers, host=inventory_hostname) }}
  tasks:
    - name: Thunderbird profiles (a new profile per user)
      mailops.clients.thunderbird_profiles:
        accounts: "{{ accounts }}"
        profiles_root: "{{ out }}/thunderbird/{user}"
        gate: {allow_unverified: true}
        create_profile: true
      become: "{{ via_module }}"
      become_method: ansible.builtin.su
    - name: Thunderbird enterprise AutoConfig
      mailops.clients.thunderbird_profiles:
        accounts: "{{ accounts }}"
        output: enterprise
        dest: "{{ out }}/thunderbird-install"
        gate: {allow_unverified: true}
      become: "{{ via_module }}"
      become_method: ansible.builtin.su
    - name: Apple profiles
      mailops.clients.apple_mail_profiles:
        accounts: "{{ accounts }}"
        dest_dir: "{{ out }}/apple/{user}"
        gate: {allow_unverified: true}
      become: "{{ via_module }}"
      become_method: ansible.builtin.su
    - name: Outlook files
      mailops.clients.outlook_profiles:
        accounts: "{{ accounts }}"
        options: {prf: true}
        dest_dir: "{{ out }}/outlook"
        gate: {allow_unverified: true}
      become: "{{ via_module }}"
      become_method: ansible.builtin.su
"""


def snapshot(root: Path) -> dict:
    return {
        str(p.relative_to(root)): (mode(p), p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))
    }


def test_module_path_and_in_process_path_write_the_same(ansible_playbook, tmp_path):
    trees = {}
    for via_module in (True, False):
        out = tmp_path / ("module" if via_module else "in-process")
        extra = {"out": str(out), "via_module": via_module}
        check = ansible_playbook(RENDER_PLAY, extra_vars=extra, check=True)
        assert recap(check) == {"changed": 4, "failed": 0}, check.stdout
        assert not out.exists()
        run = ansible_playbook(RENDER_PLAY, extra_vars=extra, verbosity=3)
        assert recap(run) == {"changed": 4, "failed": 0}, run.stdout
        # which way the files went: one module run per batch on the target, or none at all
        assert ("AnsiballZ_rendered_files.py" in run.stdout) is via_module
        assert "AnsiballZ_copy.py" not in run.stdout and "AnsiballZ_stat.py" not in run.stdout
        for again in (
            ansible_playbook(RENDER_PLAY, extra_vars=extra, check=True),
            ansible_playbook(RENDER_PLAY, extra_vars=extra),
        ):
            assert recap(again) == {"changed": 0, "failed": 0}, again.stdout
        trees[via_module] = snapshot(out)
    assert trees[True] == trees[False]
    names = set(trees[True])
    assert {"thunderbird/alice/profiles.ini", "thunderbird/alice/mailops.default/user.js"} <= names
    assert "thunderbird-install/defaults/pref/autoconfig.js" in names
    assert {"apple/alice/alice.mobileconfig", "outlook/alice/mailops-outlook.prf"} <= names


TYPO_PLAY = """
- hosts: all
  gather_facts: false
  vars:
    servers:
      example:
        incoming: {protocol: imap, host: mail.example.test, security: tls}
        outgoing: {host: mail.example.test, security: starttls}
    accounts: >-
      {{ [{'email': 'alice@example.test', 'server': 'example', 'user': 'alice'}]
         | mailops.clients.mail_accounts_normalize(servers, host=inventory_hostname) }}
  tasks:
    - name: A misspelt task option
      mailops.clients.thunderbird_profiles:
        accounts: "{{ accounts }}"
        profile_root: "{{ out }}/thunderbird/{user}"
        create_profile: true
        gate: {allow_unverified: true}
      ignore_errors: true
    - name: A misspelt gate option (the gate is not passed by a typo)
      mailops.clients.apple_mail_profiles:
        accounts: "{{ accounts }}"
        dest_dir: "{{ out }}/apple/{user}"
        gate: {allow_unverifed: true}
      ignore_errors: true
    - name: A misspelt rendering option
      mailops.clients.outlook_profiles:
        accounts: "{{ accounts }}"
        options: {prff: true}
        dest_dir: "{{ out }}/outlook"
        gate: {allow_unverified: true}
      ignore_errors: true
    - name: A misspelt Thunderbird rendering option
      mailops.clients.thunderbird_profiles:
        accounts: "{{ accounts }}"
        output: autoconfig_xml
        dest: "{{ out }}/xml"
        options: {short_name: {example.test: Example}}
        gate: {allow_unverified: true}
      ignore_errors: true
"""


def test_renderer_option_typos_fail_naming_the_option(ansible_playbook, tmp_path):
    """Every renderer refuses an unknown option by name, with the near miss, before anything is written."""
    out = tmp_path / "out"
    run = ansible_playbook(TYPO_PLAY, extra_vars={"out": str(out)})
    assert recap(run)["changed"] == 0, run.stdout
    assert run.stdout.count("...ignoring") == 4, run.stdout
    for message in (
        "unknown option(s) profile_root (did you mean profiles_root?); valid options: accounts, backup, ",
        "unknown option(s) gate.allow_unverifed (did you mean allow_unverified?); valid options of gate: "
        "allow_unverified, client, fail_on, verified",
        "unknown option(s) prff (did you mean prf?); valid options: autodiscover, ",
        "unknown option(s) short_name (did you mean short_names?); valid options: account_name_format, ",
    ):
        assert message in run.stdout, (message, run.stdout)
    assert "Traceback" not in run.stdout + run.stderr
    assert not out.exists()
