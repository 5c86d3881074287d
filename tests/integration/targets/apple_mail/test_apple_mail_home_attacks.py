# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Local users attacking the apple_mail host copy (mailops_apple_mail_host_copy) through their own homes.

The copy goes to ~{user}/Library/Application Support/mailops.clients as root, owner {user}, directory 0700. Each
attack gets its own throwaway user and root-owned decoy; one play per write path carries them, with a user whose
home is normal and who must still get their profile. Nothing outside the attackers' homes may change, and
--check --diff must not print a byte of a root-only file.
"""

from __future__ import annotations

import hashlib
import json
import plistlib
import stat
from pathlib import Path

import pytest
from ansible_recap import recap
from homeattack import (
    SERVERS,
    User,
    decoy_problems,
    give,
    leaked,
    needs_root,
    owned_outside_home,
    readable_secrets,
    refused,
    root_hardlink,
    user_symlink,
    write_paths,
)

pytestmark = [pytest.mark.slow, needs_root]


PLAY = """
- hosts: all
  gather_facts: false
  roles:
    - role: mailops.clients.apple_mail
"""
WRITE_PATHS = write_paths("mailops_apple_mail_host_become")
HOST_DIR = Path("Library", "Application Support", "mailops.clients")


def role_vars(write_path: str, accounts: list) -> dict:
    """Host copy only, with the role's default directory (~{user}/Library/...) and owner ({user})."""
    return {
        "mailops_allow_unverified": True,
        "mailops_apple_mail_output_dir": None,
        "mailops_apple_mail_host_copy": True,
        "mailops_apple_mail_identifier_prefix": "test.example.mail",
        "mailops_servers": SERVERS,
        "mailops_accounts": accounts,
        **WRITE_PATHS[write_path],
    }


def account(user: User) -> dict:
    return {"email": f"{user.name}@example.test", "server": "example", "user": user.name}


def profile_name(user: User) -> str:
    return f"{user.name}.mobileconfig"  # group_by user: the label of a name like mot1a2b3c-good is the name


def host_dir(user: User) -> Path:
    """The user's ~/Library/Application Support/mailops.clients parents, made (and owned) as the user would."""
    directory = user.home / HOST_DIR
    directory.parent.mkdir(parents=True, mode=0o700)
    give(user.home / "Library", user)
    return directory


def root_profile(token: str) -> bytes:
    """A root-only configuration profile (as /var/db/ConfigurationProfiles holds) carrying the decoy's token."""
    return plistlib.dumps(
        {
            "PayloadType": "Configuration",
            "PayloadVersion": 1,
            "PayloadIdentifier": "root.only",
            "PayloadUUID": "00000000-0000-0000-0000-000000000001",
            "PayloadDisplayName": token,
            "PayloadContent": [],
        }
    )


def good_user_problems(user: User) -> list[str]:
    path = user.home / HOST_DIR / profile_name(user)
    if not path.is_file() or path.is_symlink():
        return [f"good user {user}: {path} was not written"]
    out = []
    st = path.lstat()
    if (st.st_uid, stat.S_IMODE(st.st_mode)) != (user.uid, 0o644):
        out.append(f"good user {user}: {path.name} is uid {st.st_uid} mode {stat.S_IMODE(st.st_mode):04o}")
    emails = [p.get("EmailAddress") for p in plistlib.loads(path.read_bytes())["PayloadContent"]]
    if emails != [f"{user.name}@example.test"]:
        out.append(f"good user {user}: the profile holds {emails}")
    st = path.parent.lstat()
    if (st.st_uid, stat.S_IMODE(st.st_mode)) != (user.uid, 0o700):
        out.append(f"good user {user}: {path.parent} is uid {st.st_uid} mode {stat.S_IMODE(st.st_mode):04o}")
    return out


@pytest.mark.parametrize("write_path", list(WRITE_PATHS))
def test_host_copy_through_links_writes_nothing_outside_the_home(ansible_playbook, users, decoys, write_path):
    good = users.add("good")
    attacks = {}

    def attack(tag: str, secret=None):
        user = users.add(tag)
        decoy = decoys(tag, secret)
        attacks[tag] = (user, decoy)
        return user, decoy

    # 3. ~/Library is a link to a root directory
    library, decoy = attack("library")
    user_symlink(library, decoy.path, library.home / "Library")
    # 3. the host directory itself is a link to a root directory
    appdir, decoy = attack("appdir")
    user_symlink(appdir, decoy.path, host_dir(appdir))
    # 3. the profile is a link to a root-only profile
    user, decoy = attack("mcfg", root_profile)
    directory = host_dir(user)
    directory.mkdir(mode=0o700)
    give(directory, user)
    user_symlink(user, decoy.secret, directory / profile_name(user))
    # 9. the profile is a hard link to a root-only profile (root makes it: protected_hardlinks refuses the user)
    user, decoy = attack("hardlink", root_profile)
    directory = host_dir(user)
    directory.mkdir(mode=0o700)
    give(directory, user)
    root_hardlink(user, decoy.secret, directory / profile_name(user))

    extra = role_vars(write_path, [account(good)] + [account(u) for u, _d in attacks.values()])
    decoy_map = {tag: d for tag, (_u, d) in attacks.items()}
    problems = []

    # 7. --check --diff shows no byte of a root-only file, and changes nothing
    check = ansible_playbook(PLAY, extra_vars=extra, check=True, extra_args=["--diff"])
    problems += leaked(check, "check")
    problems += decoy_problems(decoy_map, "check")

    run = ansible_playbook(PLAY, extra_vars=extra, extra_args=["--diff"])
    problems += leaked(run, "run")
    problems += decoy_problems(decoy_map, "run")
    for user, _decoy in attacks.values():
        problems += [f"[run] {user}: owns {p} outside their home" for p in owned_outside_home(user)]
        problems += [f"[run] {user}: can read {p}" for p in readable_secrets(user)]
    problems += good_user_problems(good)
    if recap(run)["failed"] != 1:
        problems.append(f"[run] recap {recap(run)}: the refused users must fail the task (failed=1)")
    # nothing can be created in the decoy as the user: these two are refused whatever the fix looks like
    problems += refused(run, library) + refused(run, appdir)
    assert not problems, "\n".join(problems) + "\n--- output tail ---\n" + run.stdout[-2500:]


@pytest.mark.parametrize("write_path", list(WRITE_PATHS))
def test_a_broken_host_directory_fails_only_its_user(ansible_playbook, users, write_path):
    broken = users.add("broken")  # first in the inventory, so its failure comes before the good user's write
    good = users.add("good")
    directory = host_dir(broken)
    directory.write_text("a file where the directory should be\n")
    give(directory, broken)

    run = ansible_playbook(PLAY, extra_vars=role_vars(write_path, [account(broken), account(good)]))
    problems = good_user_problems(good)
    if recap(run)["failed"] != 1:
        problems.append(f"recap {recap(run)}: the broken user must fail the task (failed=1)")
    problems += refused(run, broken)
    assert not problems, "\n".join(problems) + "\n--- output tail ---\n" + run.stdout[-2500:]


MANIFEST = ".mailops-clients-apple_mail.json"


@pytest.mark.parametrize("write_path", list(WRITE_PATHS))
def test_a_planted_manifest_removes_nothing_outside_the_home(ansible_playbook, users, decoys, write_path):
    """A user's manifest is the user's to write: removal through it is done as that user, by plain names only."""
    good = users.add("good")
    planter = users.add("planter")
    decoy = decoys("planter")
    first = [account(good), {**account(good), "email": f"{good.name}.old@example.test"}, account(planter)]
    extra = dict(role_vars(write_path, first), mailops_apple_mail_group_by="account")
    run = ansible_playbook(PLAY, extra_vars=extra)
    assert recap(run) == {"changed": 1, "failed": 0}, run.stdout[-2500:]
    good_dir, planter_dir = good.home / HOST_DIR, planter.home / HOST_DIR
    old_name = f"{good.name}-{good.name}-old-example-test.mobileconfig"
    assert (good_dir / old_name).is_file()

    # the planter lists a link to a root file, a root hard link and a path outside the home in their manifest,
    # each with the right hash of the root file
    public = decoy.public.read_bytes()
    digest = hashlib.sha256(public).hexdigest()
    user_symlink(planter, decoy.public, planter_dir / "link.mobileconfig")
    root_hardlink(planter, decoy.public, planter_dir / "hard.mobileconfig")
    manifest = json.loads((planter_dir / MANIFEST).read_text())
    for name in ("link.mobileconfig", "hard.mobileconfig", f"../../../../../..{decoy.public}.mobileconfig"):
        manifest["files"][name] = {"accounts": ["x@example.test"], "sha256": digest}
    (planter_dir / MANIFEST).write_text(json.dumps(manifest))
    give(planter_dir / MANIFEST, planter)

    # the good user's second address is offboarded: its profile goes, as that user
    extra["mailops_accounts"][1]["state"] = "absent"
    problems = []
    check = ansible_playbook(PLAY, extra_vars=extra, check=True, extra_args=["--diff"])
    problems += leaked(check, "check") + decoy_problems({"planter": decoy}, "check")
    if not (good_dir / old_name).is_file():
        problems.append("[check] the offboarded profile was removed in check mode")
    run = ansible_playbook(PLAY, extra_vars=extra, extra_args=["--diff"])
    problems += leaked(run, "run") + decoy_problems({"planter": decoy}, "run")
    problems += [f"[run] {planter}: owns {p} outside their home" for p in owned_outside_home(planter)]
    if (good_dir / old_name).exists():
        problems.append(f"[run] {good_dir / old_name} was not removed")
    problems += good_user_problems_account(good)
    if decoy.public.read_bytes() != public or not (planter_dir / "link.mobileconfig").is_symlink():
        problems.append("[run] the root file or the planter's link changed")
    assert not problems, "\n".join(problems) + "\n--- output tail ---\n" + run.stdout[-2500:]


def good_user_problems_account(user: User) -> list[str]:
    path = user.home / HOST_DIR / f"{user.name}-{user.name}-example-test.mobileconfig"
    if not path.is_file() or path.is_symlink():
        return [f"good user {user}: {path} is not there"]
    st = path.lstat()
    return [] if st.st_uid == user.uid else [f"good user {user}: {path.name} belongs to uid {st.st_uid}"]
