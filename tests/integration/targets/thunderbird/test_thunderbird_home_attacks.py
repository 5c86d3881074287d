# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Local users attacking the thunderbird role through their own homes, on both write paths.

The role runs as root and writes every user's profile. Each attack gets its own throwaway user and its own
root-owned decoy outside every home; one play per write path carries the attacks (plus a user with a normal
profile, who must still get the accounts). Whatever a user puts in their home, the role must not change a decoy
(content, owner, group, mode, inode, entries), must not print a root-only byte (--check --diff), and one hostile
or broken home fails only its own user.

Two plays per write path, not one: a task that stops at its first broken home (garbage profiles.ini, ...) writes
nothing at all, which would hide the attacks that write through links; so links and forged paths get one play,
broken homes another. The races run in their own bounded loop (RACE_RUNS runs, RACE_SECONDS).
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from pathlib import Path

import pytest
from ansible_collections.mailops.clients.plugins.module_utils._vocabulary import endpoint_key
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import normalize_accounts
from ansible_collections.mailops.clients.plugins.plugin_utils._thunderbird import BLOCK_BEGIN, plan_profile
from ansible_recap import recap
from homeattack import (
    SERVERS,
    SWAP_DIR,
    SWAP_TMP,
    VICTIM_PREFIX,
    Decoy,
    Racer,
    User,
    compare,
    decoy_problems,
    give,
    leaked,
    needs_root,
    owned_outside_home,
    readable_secrets,
    refused,
    root_hardlink,
    snapshot,
    user_symlink,
    write_paths,
)

pytestmark = [pytest.mark.slow, needs_root]


PLAY = """
- hosts: all
  gather_facts: false
  roles:
    - role: mailops.clients.thunderbird
"""
WRITE_PATHS = write_paths("mailops_thunderbird_become")
PROFILE = "abcd.default"
PROFILES_INI = "[Profile0]\nName=default\nIsRelative=1\nPath={path}\nDefault=1\n\n[General]\nStartWithLastProfile=1\n"
# Path= is line 4 of every forged profiles.ini below
FORGED_INI = (
    "[Profile0]\nName=default\nIsRelative={relative}\nPath={path}\nDefault=1\n\n[General]\nStartWithLastProfile=1\n"
)
PREFS = """// Mozilla User Preferences

user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.lastKey", 1);
user_pref("mail.accountmanager.accounts", "account1");
user_pref("mail.server.server1.hostname", "Local Folders");
user_pref("mail.server.server1.type", "none");
"""
USER_JS = 'user_pref("browser.startup.homepage", "about:blank");\n'
ACCOUNTS_PREF = re.compile(r'user_pref\("mail\.accountmanager\.accounts", "([^"]*)"\);')


def thunderbird_home(user: User, ini: str | None = None, user_js: str | None = USER_JS) -> Path:
    """~/.thunderbird/profiles.ini and ~/.thunderbird/abcd.default/{prefs.js,user.js}, all the user's."""
    root = user.home / ".thunderbird"
    profile = root / PROFILE
    profile.mkdir(parents=True, mode=0o700)
    (root / "profiles.ini").write_text(ini if ini is not None else PROFILES_INI.format(path=PROFILE))
    (profile / "prefs.js").write_text(PREFS)
    if user_js is not None:
        (profile / "user.js").write_text(user_js)
    for path in (profile / "prefs.js", profile / "user.js"):
        if path.exists():
            path.chmod(0o600)
    give(root, user)
    return profile


def account(user: User, display_name: str | None = None) -> dict:
    return {
        "email": f"{user.name}@example.test",
        "server": "example",
        "user": user.name,
        "display_name": display_name or f"Account of {user.tag}",
    }


def role_vars(write_path: str, accounts: list, **extra) -> dict:
    """The role's defaults for where profiles are and who owns them (~{user}/.thunderbird, owner {user})."""
    normalized = normalize_accounts(accounts, SERVERS, host="localhost")
    keys = {endpoint_key(a[d]) for a in normalized for d in ("incoming", "outgoing")}
    result = {
        "mailops_servers": SERVERS,
        "mailops_accounts": accounts,
        "mailops_verified": {"endpoints": {k: {"verdict": "ok", "findings": []} for k in keys}, "accounts": {}},
        **WRITE_PATHS[write_path],
    }
    result.update(extra)
    return result


def good_user_problems(user: User, when: str, display_name: str | None = None) -> list[str]:
    """[] when the user with a normal profile got the managed block and the account, in files they own."""
    profile = user.home / ".thunderbird" / PROFILE
    user_js, prefs_js = profile / "user.js", profile / "prefs.js"
    out = []
    text = user_js.read_text() if user_js.exists() else ""
    if BLOCK_BEGIN not in text or f'"{user.name}@example.test"' not in text:
        out.append(f"[{when}] good user {user}: user.js has no managed block with their account")
    if display_name and display_name not in text:
        out.append(f"[{when}] good user {user}: user.js does not carry this run's {display_name!r}")
    accounts = ACCOUNTS_PREF.findall(prefs_js.read_text())
    if not accounts or "account1000" not in accounts[-1].split(","):
        out.append(f"[{when}] good user {user}: prefs.js does not list account1000: {accounts}")
    for path in (user_js, prefs_js):
        if path.exists():
            st = path.lstat()
            if (st.st_uid, stat.S_IMODE(st.st_mode)) != (user.uid, 0o600) or not stat.S_ISREG(st.st_mode):
                out.append(f"[{when}] good user {user}: {path.name} is uid {st.st_uid} mode {st.st_mode:o}")
    return out


def outside_problems(attackers: list[User], when: str) -> list[str]:
    out = []
    for user in attackers:
        out += [f"[{when}] {user}: owns {p} outside their home" for p in owned_outside_home(user)]
        out += [f"[{when}] {user}: can read {p}" for p in readable_secrets(user)]
    return out


@pytest.mark.parametrize("write_path", list(WRITE_PATHS))
def test_links_and_forged_paths_write_nothing_outside_the_home(ansible_playbook, users, decoys, write_path):
    good = users.add("good")
    victim = users.add("victim")  # not in the inventory: only the attacker's profiles.ini points at them
    victim_profile = thunderbird_home(victim, user_js=f"// {VICTIM_PREFIX}{os.urandom(8).hex()}\n" + USER_JS)
    thunderbird_home(good)
    attacks = {}  # label -> (attacker, decoy)

    def attack(tag: str) -> tuple[User, Decoy]:
        user = users.add(tag)
        decoy = decoys(tag)
        attacks[tag] = (user, decoy)
        return user, decoy

    # 1. user.js / prefs.js are links to root files
    user, decoy = attack("userjs")
    profile = thunderbird_home(user, user_js=None)
    user_symlink(user, decoy.secret, profile / "user.js")
    user, decoy = attack("prefsjs")
    profile = thunderbird_home(user)
    (profile / "prefs.js").unlink()
    user_symlink(user, decoy.public, profile / "prefs.js")
    # 2. the profile directory, or ~/.thunderbird itself, is a link to a root directory
    user, decoy = attack("profdir")
    profile = thunderbird_home(user)
    for child in profile.iterdir():
        child.unlink()
    profile.rmdir()
    user_symlink(user, decoy.path, profile)
    user, decoy = attack("tbroot")  # no profiles.ini there: create_profile makes one, and chowns the directory
    user_symlink(user, decoy.path, user.home / ".thunderbird")
    # 4. profiles.ini points outside the user's Thunderbird root (line 4 is the Path=)
    ini_attackers = []
    user, decoy = attack("iniabs")
    thunderbird_home(user, ini=FORGED_INI.format(relative=0, path=decoy.path))
    ini_attackers.append(user)
    user, decoy = attack("inidots")
    thunderbird_home(user, ini=FORGED_INI.format(relative=1, path="../../.." + str(decoy.path)))
    ini_attackers.append(user)
    user, _unused = attack("iniother")  # another user's profile; its decoy only proves nothing else is touched
    thunderbird_home(user, ini=FORGED_INI.format(relative=0, path=victim_profile))
    ini_attackers.append(user)
    # 5. a dangling profiles.ini link into a root directory, with create_profile
    user, decoy = attack("inilink")
    (user.home / ".thunderbird").mkdir(mode=0o700)
    give(user.home / ".thunderbird", user)
    user_symlink(user, decoy.missing, user.home / ".thunderbird" / "profiles.ini")
    # 9. user.js is a hard link to a root-only file (root makes it: protected_hardlinks refuses the user)
    user, decoy = attack("hardlink")
    profile = thunderbird_home(user, user_js=None)
    root_hardlink(user, decoy.secret, profile / "user.js")

    accounts = [account(good)] + [account(user) for user, _d in attacks.values()]
    extra = role_vars(write_path, accounts, mailops_thunderbird_create_profile=True)
    decoy_map = {tag: d for tag, (_u, d) in attacks.items()}
    attackers = [u for u, _d in attacks.values()]
    victim_before = snapshot(victim.home)
    problems = []

    # 7. --check --diff shows no byte of a file the user could not read, and changes nothing
    check = ansible_playbook(PLAY, extra_vars=extra, check=True, extra_args=["--diff"])
    problems += leaked(check, "check")
    problems += decoy_problems(decoy_map, "check")
    problems += [f"[check] victim home: {c}" for c in compare(victim_before, snapshot(victim.home))]

    run = ansible_playbook(PLAY, extra_vars=extra, extra_args=["--diff"])
    problems += leaked(run, "run")
    problems += decoy_problems(decoy_map, "run")
    problems += [f"[run] victim home {victim.home}/{c}" for c in compare(victim_before, snapshot(victim.home))]
    problems += outside_problems(attackers, "run")
    problems += good_user_problems(good, "run")
    if recap(run)["failed"] != 1:
        problems.append(f"[run] recap {recap(run)}: the refused users must fail the task (failed=1)")
    for user in ini_attackers:
        problems += refused(run, user, "profiles.ini line 4")
    assert not problems, "\n".join(problems) + "\n--- output tail ---\n" + run.stdout[-2500:]


@pytest.mark.parametrize("write_path", list(WRITE_PATHS))
def test_a_broken_home_fails_only_its_user(ansible_playbook, users, write_path):
    good = users.add("good")
    thunderbird_home(good)
    garbage = users.add("garbage")
    thunderbird_home(garbage, ini="this is not an ini file\nPath=/etc\n")
    markers = users.add("markers")
    thunderbird_home(markers, user_js=f"{BLOCK_BEGIN}\n{BLOCK_BEGIN}\n" + USER_JS)
    locked = users.add("lock")  # Thunderbird's lock link; pid 1 is alive, so the profile looks in use
    profile = thunderbird_home(locked)
    user_symlink(locked, "127.0.0.1:+1", profile / "lock")
    huge = users.add("huge")
    profile = thunderbird_home(huge)
    os.truncate(profile / "prefs.js", 220 * 1024 * 1024)  # sparse: real lines first, then 220 MB of NULs

    accounts = [account(u) for u in (good, garbage, markers, locked, huge)]
    start = time.monotonic()
    run = ansible_playbook(PLAY, extra_vars=role_vars(write_path, accounts), timeout=240)
    took = time.monotonic() - start
    problems = good_user_problems(good, "run")
    if recap(run)["failed"] != 1:
        problems.append(f"[run] recap {recap(run)}: the broken users must fail the task (failed=1)")
    for user in (garbage, markers, locked):
        problems += refused(run, user)
    problems += refused(run, huge, ("16 MiB", "larger than"))
    st = (huge.home / ".thunderbird" / PROFILE / "prefs.js").lstat()
    if st.st_blocks * 512 > 1024 * 1024:
        problems.append(f"[run] huge {huge}: prefs.js was rewritten, now {st.st_blocks * 512} bytes on disk")
    if took > 120:
        problems.append(f"[run] took {took:.0f} s: a huge prefs.js must be refused by its size, not read")
    assert not problems, "\n".join(problems) + "\n--- output tail ---\n" + run.stdout[-2500:]


RACE_SECONDS = 60
RACE_RUNS = 20


def restore_swapped_files(user: User, profile: Path) -> None:
    """user.js/prefs.js that a swapped temporary file turned into links become regular files again, so that the
    next run writes them (and makes temporary files) again instead of refusing the user."""
    for name, text in (("user.js", USER_JS), ("prefs.js", PREFS)):
        path = profile / name
        if path.is_symlink():
            path.unlink()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            os.chown(path, user.uid, user.gid)


@pytest.mark.parametrize("write_path", list(WRITE_PATHS))
def test_races_on_the_profile_directory_and_the_temporary_files(ansible_playbook, users, decoys, tmp_path, write_path):
    """6. While the role runs, one user swaps their profile directory for a link to a root directory and back,
    another replaces every .user.js.*.tmp / .prefs.js.*.tmp the role creates by a link to a root-only file.

    One bounded loop (RACE_RUNS runs, RACE_SECONDS) carries both races; it stops early once both have won. The
    temporary-file racer's name sorts first: a task that stops at its first failing user (today's) still reaches it.
    """
    good = users.add("good")
    thunderbird_home(good)
    tmp_racer = users.add("race1tmp")
    tmp_profile = thunderbird_home(tmp_racer)
    dir_racer = users.add("race2dir")
    dir_profile = thunderbird_home(dir_racer)
    races = {"temporary files": (tmp_racer, decoys("race1tmp")), "profile directory": (dir_racer, decoys("race2dir"))}
    won = {}  # race -> what its first winning run left behind
    racers = []
    runs = 0
    start = time.monotonic()
    try:
        racers.append(
            Racer(
                tmp_racer,
                SWAP_TMP,
                str(tmp_profile),
                str(races["temporary files"][1].secret),
                log=tmp_path / "tmp-racer.log",
            )
        )
        racers.append(
            Racer(
                dir_racer,
                SWAP_DIR,
                str(dir_profile),
                str(dir_profile) + ".hold",
                str(races["profile directory"][1].path),
                log=tmp_path / "dir-racer.log",
            )
        )
        # a run starts only when 1.5 x the slowest run so far is left: on a loaded machine (the ansible-core
        # matrix runs two cores side by side) the last run must not be cut off by its timeout
        reserve = 8.0
        while len(won) < len(races) and runs < RACE_RUNS and time.monotonic() - start < RACE_SECONDS - reserve:
            runs += 1
            run_start = time.monotonic()
            # a new display name each run: user.js changes, so every run writes (and makes temporary files)
            accounts = [account(u, f"Race run {runs}") for u in (good, tmp_racer, dir_racer)]
            left = RACE_SECONDS - (time.monotonic() - start)
            ansible_playbook(PLAY, extra_vars=role_vars(write_path, accounts), timeout=max(5, int(left)))
            reserve = max(reserve, 1.5 * (time.monotonic() - run_start))
            restore_swapped_files(tmp_racer, tmp_profile)
            for race, (user, decoy) in races.items():
                found = decoy_problems({race: decoy}, f"run {runs}") + outside_problems([user], f"run {runs}")
                if found and race not in won:
                    won[race] = found
    finally:
        logs = {racer.user.tag: racer.stop() for racer in racers}
    took = time.monotonic() - start
    problems = [line for found in won.values() for line in found]
    problems += good_user_problems(good, f"after {runs} runs", f"Race run {runs}")
    summary = (
        f"{runs} runs in {took:.0f} s; won: {sorted(won) or 'none'}; the directory racer swapped "
        f"{100 * logs.get('race2dir', '').count('swapped')}+ times, the temporary-file racer replaced "
        f"{logs.get('race1tmp', '').count('swapped')} temporary files"
    )
    print(summary)
    assert not problems, "\n".join(problems) + "\n" + summary


# --- a server move: logins.json and msgFilterRules.dat are read and rewritten as the user ----------------------

OLD_HOST = "old.example.test"


def moved_home(user: User) -> Path:
    """A profile whose managed block still has the account on OLD_HOST (SERVERS moved it to mail.example.test),
    with the folder prefs, filter file and saved password Thunderbird keeps for it."""
    profile = thunderbird_home(user)
    servers = {"example": {"incoming": dict(SERVERS["example"]["incoming"], host=OLD_HOST)}}
    servers["example"]["outgoing"] = dict(SERVERS["example"]["outgoing"], host=OLD_HOST)
    normalized = normalize_accounts([account(user)], servers, host="localhost")
    plan = plan_profile(normalized, USER_JS, PREFS)
    uri = f"imap://{user.name}%40example.test@{OLD_HOST}"
    (profile / "user.js").write_text(plan.user_js)
    (profile / "prefs.js").write_text(
        plan.prefs_js
        + f'user_pref("mail.server.server1000.directory-rel", "[ProfD]ImapMail/{OLD_HOST}");\n'
        + f'user_pref("mail.identity.id1000.fcc_folder", "{uri}/Sent");\n'
    )
    give(profile, user)
    return profile


def filter_rules(user: User, host: str) -> str:
    return f'version="9"\nname="f"\naction="Move to folder"\nactionValue="imap://{user.name}%40example.test@{host}/A"\n'


def logins(host: str) -> str:
    login = {"id": 1, "hostname": f"imap://{host}", "httpRealm": f"imap://{host}", "encryptedUsername": "MDIE"}
    return json.dumps(
        {"nextId": 2, "logins": [dict(login, encryptedPassword="MDoE")], "version": 3}, separators=(",", ":")
    )


@pytest.mark.parametrize("write_path", list(WRITE_PATHS))
def test_a_server_move_reads_and_writes_logins_and_filters_only_as_the_user(
    ansible_playbook, users, decoys, write_path
):
    good = users.add("good")
    profile = moved_home(good)
    (profile / "ImapMail" / OLD_HOST).mkdir(parents=True, mode=0o700)
    (profile / "ImapMail" / OLD_HOST / "msgFilterRules.dat").write_text(filter_rules(good, OLD_HOST))
    (profile / "logins.json").write_text(logins(OLD_HOST))
    (profile / "logins.json").chmod(0o600)
    give(profile, good)
    attacks = {}

    def attack(tag: str) -> tuple[User, Decoy, Path]:
        user = users.add(tag)
        decoy = decoys(tag)
        attacks[tag] = (user, decoy)
        return user, decoy, moved_home(user)

    # logins.json is a link to, or a hard link of, a root-only file
    user, decoy, home = attack("loginslink")
    user_symlink(user, decoy.secret, home / "logins.json")
    user, decoy, home = attack("loginshard")
    root_hardlink(user, decoy.secret, home / "logins.json")
    # the server's directory is a link into a root directory that holds a filter file on the old server
    user, decoy, home = attack("filterdir")
    (decoy.path / OLD_HOST).mkdir(mode=0o755)
    (decoy.path / OLD_HOST / "msgFilterRules.dat").write_text(filter_rules(user, OLD_HOST))
    decoy.before = snapshot(decoy.path)
    user_symlink(user, decoy.path, home / "ImapMail")

    accounts = [account(good)] + [account(user) for user, _d in attacks.values()]
    extra = role_vars(write_path, accounts)
    decoy_map = {tag: d for tag, (_u, d) in attacks.items()}
    problems = []
    check = ansible_playbook(PLAY, extra_vars=extra, check=True, extra_args=["--diff"])
    problems += leaked(check, "check")
    problems += decoy_problems(decoy_map, "check")
    run = ansible_playbook(PLAY, extra_vars=extra, extra_args=["--diff"])
    problems += leaked(run, "run")
    problems += decoy_problems(decoy_map, "run")
    problems += outside_problems([u for u, _d in attacks.values()], "run")
    if recap(run)["failed"] != 1:
        problems.append(f"[run] recap {recap(run)}: the refused users must fail the task (failed=1)")
    for tag, (user, _decoy) in attacks.items():
        problems += refused(run, user, "logins.json" if tag.startswith("logins") else "msgFilterRules.dat")
    # the good user's files moved, still theirs
    moved = profile / "ImapMail" / OLD_HOST / "msgFilterRules.dat"
    if moved.read_text() != filter_rules(good, "mail.example.test"):
        problems.append(f"[run] good user: filter file not moved: {moved.read_text()!r}")
    if (profile / "logins.json").read_text() != logins("mail.example.test"):
        problems.append(f"[run] good user: logins.json not moved: {(profile / 'logins.json').read_text()!r}")
    for path in (moved, profile / "logins.json"):
        st = path.lstat()
        if (st.st_uid, stat.S_IMODE(st.st_mode)) != (good.uid, 0o600 if path.name == "logins.json" else 0o644):
            problems.append(f"[run] good user: {path} is uid {st.st_uid} mode {st.st_mode:o}")
    assert not problems, "\n".join(problems) + "\n--- output tail ---\n" + run.stdout[-2500:]
