# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Home-directory attacks on the roles that write into users' homes as root: the shared pieces.

- ``throwaway_users`` (behind a ``users`` fixture): real accounts ``mot<hex>-<tag>``, removed with ``userdel -r``
  even when the test fails;
- ``decoy_factory`` (behind a ``decoys`` fixture): root-owned directories in /var/tmp (a 0600 file holding a
  ``ROOT-ONLY-SECRET-`` token, a 0644 file, a 0755 subdirectory) whose every entry (type, mode, owner, group, inode,
  size, bytes) is compared after a run;
- ``Racer``: a process running AS a throwaway user (setpriv, no capabilities left) that keeps changing its own home
  while the role runs; stopped by its process group id.

Needs root (the roles write into other users' homes only as root); the tests that use it skip otherwise.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SECRET_PREFIX = "ROOT-ONLY-SECRET-"
VICTIM_PREFIX = "VICTIM-ONLY-SECRET-"
DECOY_PARENT = "/var/tmp"
# where a write that escaped a home would land (the decoys are checked entry by entry as well)
OUTSIDE_ROOTS = ("/home", "/var/tmp", "/etc")
SYSTEM_PYTHON = "/usr/bin/python3"  # a racer runs as the user, who cannot read the checkout's venv

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: creates users and writes into their homes")


# --- throwaway users ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    home: Path
    tag: str

    def __str__(self) -> str:
        return f"{self.tag} ({self.name})"


class Users:
    """Creates ``mot<6 hex>-<tag>`` accounts with a home in /home; ``remove_all`` deletes them and their homes."""

    def __init__(self) -> None:
        self.created: list[User] = []
        self._stem = "mot" + secrets.token_hex(3)

    def add(self, tag: str) -> User:
        name = f"{self._stem}-{tag}"
        assert re.fullmatch(r"[a-z][a-z0-9-]{2,31}", name), name
        subprocess.run(
            ["useradd", "-m", "-d", f"/home/{name}", "-s", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
            text=True,
        )
        entry = pwd.getpwnam(name)
        user = User(name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir), tag)
        self.created.append(user)
        return user

    def remove_all(self) -> None:
        left = []
        for user in self.created:
            subprocess.run(["userdel", "-r", user.name], capture_output=True, text=True, check=False)
            if subprocess.run(["getent", "passwd", user.name], capture_output=True, check=False).returncode == 0:
                left.append(user.name)
            if user.home.exists() or user.home.is_symlink():
                shutil.rmtree(user.home, ignore_errors=True)
        assert not left, f"could not remove the throwaway users {left}"


def throwaway_users():
    """Generator for a ``users`` fixture: yields ``Users``, removes every user made through it afterwards."""
    made = Users()
    try:
        yield made
    finally:
        made.remove_all()


def give(path: Path, user: User) -> None:
    """Make ``path`` (and everything below a directory, links themselves) belong to ``user``, as if they made it."""
    os.lchown(path, user.uid, user.gid)
    if path.is_dir() and not path.is_symlink():
        for dirpath, dirnames, filenames in os.walk(path):
            for name in dirnames + filenames:
                os.lchown(os.path.join(dirpath, name), user.uid, user.gid)


def user_symlink(user: User, target, link: Path) -> None:
    """A symbolic link the user made in their own home."""
    os.symlink(target, link)
    os.lchown(link, user.uid, user.gid)


def as_user(user: User, *cmd: str) -> subprocess.CompletedProcess:
    """Run ``cmd`` as ``user`` (runuser, as an administrator would to show what the user can do)."""
    return subprocess.run(
        ["runuser", "-u", user.name, "--", *cmd], capture_output=True, text=True, timeout=30, check=False
    )


def root_hardlink(user: User, target: Path, link: Path) -> None:
    """Hard-link a root file into ``user``'s home as a system without fs.protected_hardlinks would let them.

    Here (protected_hardlinks=1) the user is refused, which the first assertion shows; root makes the link instead.
    """
    refused = as_user(user, "ln", str(target), str(link))
    assert refused.returncode != 0 and "Operation not permitted" in refused.stderr, (
        f"{user}: expected fs.protected_hardlinks to refuse `ln {target} {link}` to the user: {refused}"
    )
    assert not link.exists()
    os.link(target, link)


# --- root-owned decoys ----------------------------------------------------------------------------------


def snapshot(root: Path) -> dict:
    """Every entry below ``root`` (itself included, links not followed): what a change would show."""
    entries = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [".", *sorted(dirnames), *sorted(filenames)]:
            if name == "." and dirpath != str(root):
                continue
            path = os.path.join(dirpath, name) if name != "." else dirpath
            st = os.lstat(path)
            content = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as handle:
                    content = handle.read(1 << 20)
            elif stat.S_ISLNK(st.st_mode):
                content = os.readlink(path).encode()
            rel = os.path.relpath(path, root)
            entries[rel] = {
                "type": stat.S_IFMT(st.st_mode),
                "mode": stat.S_IMODE(st.st_mode),
                "uid": st.st_uid,
                "gid": st.st_gid,
                "ino": st.st_ino,
                "size": st.st_size,
                "content": content,
            }
    return entries


def _who(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _kind(mode: int) -> str:
    return {stat.S_IFREG: "file", stat.S_IFDIR: "directory", stat.S_IFLNK: "link"}.get(mode, "other")


def _describe(entry: dict) -> str:
    return f"{_kind(entry['type'])} of {_who(entry['uid'])}, mode {entry['mode']:04o}, {entry['size']} bytes"


def compare(before: dict, after: dict) -> list[str]:
    """What changed between two snapshots, in words (owner names, octal modes)."""
    out = []
    for rel in sorted(set(before) | set(after)):
        old, new = before.get(rel), after.get(rel)
        if old is None:
            out.append(f"{rel}: created ({_describe(new)})")
            continue
        if new is None:
            out.append(f"{rel}: removed")
            continue
        what = []
        if (old["uid"], old["gid"]) != (new["uid"], new["gid"]):
            what.append(f"owner {_who(old['uid'])}:{old['gid']} -> {_who(new['uid'])}:{new['gid']}")
        if old["mode"] != new["mode"] or old["type"] != new["type"]:
            what.append(f"mode {_kind(old['type'])} {old['mode']:04o} -> {_kind(new['type'])} {new['mode']:04o}")
        if old["ino"] != new["ino"]:
            what.append(f"inode {old['ino']} -> {new['ino']}")
        if old["size"] != new["size"] or old["content"] != new["content"]:
            what.append(f"content changed ({old['size']} -> {new['size']} bytes)")
        if what:
            out.append(f"{rel}: " + ", ".join(what))
    return out


class Decoy:
    """A root-owned 0755 directory outside every home: root.secret (0600, a unique token), root.public (0644),
    root.d/ (0755) with root.d/inner (0644)."""

    def __init__(self, label: str, secret=None) -> None:
        self.label = label
        self.path = Path(tempfile.mkdtemp(prefix="mailops-decoy-", dir=DECOY_PARENT))
        self.path.chmod(0o755)
        self.token = SECRET_PREFIX + secrets.token_hex(8)
        self.secret = self.path / "root.secret"
        self.public = self.path / "root.public"
        self.subdir = self.path / "root.d"
        self.missing = self.path / "not-yet-there"  # a name only a write could create
        # ``secret(token) -> bytes`` shapes the root-only file (a plist for Apple); by default a prefs line
        data = secret(self.token) if secret else f'// {self.token}\nuser_pref("root.only", "{self.token}");\n'.encode()
        self.secret.write_bytes(data)
        self.secret.chmod(0o600)
        self.public.write_text("a root file everybody may read\n")
        self.public.chmod(0o644)
        self.subdir.mkdir()
        self.subdir.chmod(0o755)
        (self.subdir / "inner").write_text("inside a root directory\n")
        (self.subdir / "inner").chmod(0o644)
        self.before = snapshot(self.path)

    def changes(self) -> list[str]:
        return compare(self.before, snapshot(self.path))


def decoy_factory():
    """Generator for a ``decoys`` fixture: yields ``make(label, secret=None) -> Decoy``, removes them afterwards."""
    made: list[Decoy] = []

    def make(label: str, secret=None) -> Decoy:
        decoy = Decoy(label, secret)
        made.append(decoy)
        return decoy

    try:
        yield make
    finally:
        for decoy in made:
            shutil.rmtree(decoy.path, ignore_errors=True)


# --- what a user would notice ---------------------------------------------------------------------------


def decoy_problems(decoys_by_attack: dict, when: str) -> list[str]:
    """``{attack label: Decoy}`` -> one line per changed decoy entry."""
    out = []
    for label, decoy in decoys_by_attack.items():
        out += [f"[{when}] {label}: decoy {decoy.path}/{change}" for change in decoy.changes()]
    return out


def owned_outside_home(user: User, roots=OUTSIDE_ROOTS) -> list[str]:
    """Paths below ``roots`` (links not followed) owned by ``user`` but not inside the user's home."""
    found = []
    home = str(user.home)
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            if dirpath == home or dirpath.startswith(home + "/"):
                dirnames[:] = []
                continue
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if path == home:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if os.lstat(path).st_uid == user.uid:
                        found.append(path)
    return found


def readable_secrets(user: User, markers=(SECRET_PREFIX, VICTIM_PREFIX)) -> list[str]:
    """Files in ``user``'s home the user can read (owns, or world-readable) that hold another account's secret."""
    found = []
    for dirpath, _dirnames, filenames in os.walk(user.home):
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:  # a racer may be changing the home meanwhile: never follow what it put there
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            with os.fdopen(fd, "rb") as handle:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or not (st.st_uid == user.uid or st.st_mode & stat.S_IROTH):
                    continue
                data = handle.read(1 << 20)
            found += [f"{path} (owner {_who(st.st_uid)}) holds {m}..." for m in markers if m.encode() in data]
    return found


def leaked(result, when: str, markers=(SECRET_PREFIX, VICTIM_PREFIX)) -> list[str]:
    """Secret tokens that ansible-playbook printed."""
    text = result.stdout + result.stderr
    out = {}
    for marker in markers:
        for match in re.finditer(re.escape(marker) + r"[0-9a-f]*", text):
            start = max(0, match.start() - 120)
            out.setdefault(
                match.group(0), f"[{when}] printed {match.group(0)}: ...{text[start : match.end() + 40]!r}..."
            )
    return list(out.values())


def messages_about(result, user: User) -> list[str]:
    """Each part of the output that starts with ``user <name>`` and runs to the next user or the line's end."""
    text = result.stdout + result.stderr
    pattern = rf"user {re.escape(user.name)}\b(?:(?!user mot[0-9a-f]{{6}}-)[^\n])*"
    return re.findall(pattern, text)


def refused(result, user: User, *fragments: str) -> list[str]:
    """[] when the output names ``user`` together with every fragment (any one of a tuple); else the problem."""
    parts = messages_about(result, user)
    if not parts:
        return [f"{user}: the output never says `user {user.name}`"]
    for part in parts:
        if all(any(f in part for f in (frag if isinstance(frag, tuple) else (frag,))) for frag in fragments):
            return []
    return [f"{user}: no message `user {user.name}: ...` with {fragments!r}; got {parts!r}"]


# --- racers ---------------------------------------------------------------------------------------------

SWAP_DIR = r"""
import os, random, sys, time
prof, hold, target = sys.argv[1:4]
swaps = 0
while True:
    try:
        if os.path.islink(prof):
            os.unlink(prof)
            os.rename(hold, prof)
        else:
            os.rename(prof, hold)
            os.symlink(target, prof)
            swaps += 1
            if swaps % 100 == 0:
                print("swapped", swaps, flush=True)
    except OSError as exc:
        print("error", exc, flush=True)
    # each state lasts 0.2 to 15 ms: long enough for a whole write to land on one side
    time.sleep(random.uniform(0.0002, 0.015))
"""

SWAP_TMP = r"""
import os, sys
prof, target = sys.argv[1:3]
swapped = set()
while True:
    try:
        names = os.listdir(prof)
    except OSError:
        continue
    for name in names:
        if name in swapped or not name.endswith(".tmp") or not name.startswith((".user.js.", ".prefs.js.")):
            continue
        path = os.path.join(prof, name)
        link = path + ".lnk"
        try:
            os.symlink(target, link)
            os.rename(link, path)
            swapped.add(name)
            print("swapped", name, flush=True)
        except OSError as exc:
            print("missed", name, exc, flush=True)
            try:
                os.unlink(link)
            except OSError:
                pass
"""


class Racer:
    """``code`` run by /usr/bin/python3 as ``user`` (setpriv: uid, gid, no supplementary groups, no capabilities)."""

    def __init__(self, user: User, code: str, *args: str, log: Path) -> None:
        self.user = user
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            [
                "setpriv",
                f"--reuid={user.uid}",
                f"--regid={user.gid}",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                SYSTEM_PYTHON,
                "-c",
                code,
                *args,
            ],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd="/",
        )
        time.sleep(0.2)
        assert self.proc.poll() is None, f"racer of {user} died: {log.read_text()}"

    def stop(self) -> str:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: pgid == pid
        self.proc.wait(timeout=10)
        self._out.close()
        return self.log.read_text(errors="replace")


SERVERS = {
    "example": {
        "incoming": {"protocol": "imap", "host": "mail.example.test", "security": "tls"},
        "outgoing": {"host": "mail.example.test", "security": "starttls"},
    }
}


def write_paths(become_var: str) -> dict:
    """Extra vars per write path: the rendered_files module (through su, as sudo may be missing) or in-process."""
    return {
        "module": {become_var: True, "ansible_become_method": "su"},
        "in_process": {become_var: False},
    }
