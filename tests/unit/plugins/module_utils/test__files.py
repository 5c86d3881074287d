# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/_files.py on a real temporary directory: what ends up on disk, in check mode and not."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
import time
from pathlib import Path

import pytest
from ansible_collections.mailops.clients.plugins.module_utils import _files
from ansible_collections.mailops.clients.plugins.module_utils._files import (
    FilesError,
    apply,
    ensure_directory,
    inspect,
    parse_mode,
    put_file,
)


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def spec(path, content=b"new\n", **extra):
    return {"path": str(path), "content": content, **extra}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, None),
        ("", None),
        ("0644", 0o644),
        ("644", 0o644),
        ("0o600", 0o600),
        (0o700, 0o700),
        (420, 0o644),
        ("u=rw,g=r,o=r", 0o644),
        ("u=rw,go=", 0o600),
        ("a=rx,u=rwx", 0o755),
        ("=r", 0o444),
    ],
)
def test_parse_mode(given, expected):
    assert parse_mode(given, "/x") == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("u=rw", r"^/x: mode 'u=rw' is not an octal mode or a complete symbolic one; give one such as '0644' or"),
        ("u+rw,go=", r"^/x: mode 'u\+rw,go=' is not an octal mode or a complete symbolic one; give one such as"),
        ("u=rwz,go=", r"^/x: mode 'u=rwz,go=' is not an octal mode or a complete symbolic one; give one such as"),
        ("0999", r"^/x: mode '0999' is not an octal mode or a complete symbolic one; give one such as '0644' or"),
        ("77777", "^/x: mode '77777' is out of range; give one such as '0644'$"),
    ],
)
def test_parse_mode_errors(given, message):
    with pytest.raises(FilesError, match=message):
        parse_mode(given, "/x")


def test_directories_with_parents_check_mode_then_real(tmp_path):
    target = tmp_path / "a" / "b" / "c"
    assert ensure_directory(str(target), "0750", check_mode=True) is True
    assert not (tmp_path / "a").exists()
    assert ensure_directory(str(target), "0750") is True
    assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", target)] == [0o750] * 3
    assert ensure_directory(str(target), "0750") is False
    target.chmod(0o755)
    assert ensure_directory(str(target), "0750", check_mode=True) is True and mode(target) == 0o755
    assert ensure_directory(str(target), "0750") is True and mode(target) == 0o750


def test_directory_blocked_by_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(FilesError, match=f"^cannot create {tmp_path}/f/d: {tmp_path}/f exists and is not a directory$"):
        ensure_directory(str(tmp_path / "f" / "d"))


def test_new_file_check_mode_then_write_then_unchanged(tmp_path):
    dest = tmp_path / "f.conf"
    assert put_file(spec(dest, mode="0640", before=True), check_mode=True) == {
        "path": str(dest),
        "changed": True,
        "existed": False,
        "before": None,
    }
    assert not dest.exists()
    assert put_file(spec(dest, mode="0640"))["changed"] is True
    assert dest.read_bytes() == b"new\n" and mode(dest) == 0o640
    inode = dest.stat().st_ino
    assert put_file(spec(dest, mode="0640"))["changed"] is False
    dest.chmod(0o644)
    assert put_file(spec(dest, mode="0640"), check_mode=True)["changed"] is True and mode(dest) == 0o644
    assert put_file(spec(dest, mode="0640"))["changed"] is True and mode(dest) == 0o640
    assert dest.stat().st_ino == inode  # attributes only: never rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.conf"]


def test_changed_file_keeps_mode_makes_backup_and_returns_before(tmp_path):
    dest = tmp_path / "f.conf"
    dest.write_bytes(b"old\n")
    dest.chmod(0o604)
    out = put_file(spec(dest, backup=True, before=True))
    assert (out["changed"], out["existed"], out["before"]) == (True, True, b"old\n")
    assert dest.read_bytes() == b"new\n" and mode(dest) == 0o604  # no mode asked: the old one stays
    backup = out["backup_file"]
    assert backup.startswith(f"{dest}.{os.getpid()}.") and backup.endswith("~")
    assert Path(backup).read_bytes() == b"old\n" and mode(backup) == 0o604


def test_tighten_first_makes_the_old_content_private_before_anything_else(tmp_path):
    dest = tmp_path / "secret.mobileconfig"
    dest.write_bytes(b"old password\n")
    dest.chmod(0o644)
    out = put_file(spec(dest, b"new password\n", mode="0600", backup=True, tighten_first=True))
    assert mode(dest) == 0o600 and mode(out["backup_file"]) == 0o600


def test_symlink_is_followed_and_owner_by_id(tmp_path):
    (tmp_path / "real").write_bytes(b"old\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    out = put_file(spec(tmp_path / "link", owner=str(os.getuid()), group=str(os.getgid())))
    assert out["changed"] is True
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real").read_bytes() == b"new\n"


def test_errors_name_the_path_and_leave_nothing_behind(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(FilesError, match=f"^{tmp_path}/d exists and is not a regular file; move it away or choose"):
        put_file(spec(tmp_path / "d"))
    with pytest.raises(FilesError, match=f"^cannot write {tmp_path}/no/f: the directory {tmp_path}/no does not exist$"):
        put_file(spec(tmp_path / "no" / "f"))
    with pytest.raises(FilesError, match=f"^{tmp_path}/f: owner 'no-such-user-x' does not exist on the target"):
        put_file(spec(tmp_path / "f", owner="no-such-user-x"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_inspect_and_apply_in_one_batch(tmp_path):
    (tmp_path / "ini").write_bytes(b"[General]\n")
    (tmp_path / "ini").chmod(0o600)
    (tmp_path / "lock").symlink_to("127.0.0.1:+4242")
    seen = inspect(
        [
            {"path": str(tmp_path / "ini"), "read": True},
            {"path": str(tmp_path / "lock"), "follow": False},
            {"path": str(tmp_path / "nothing" / "here")},
            {"path": str(tmp_path)},
        ]
    )
    assert [(e["exists"], e["type"], e["link_target"], e["content"]) for e in seen] == [
        (True, "file", None, b"[General]\n"),
        (True, "link", "127.0.0.1:+4242", None),
        (False, None, None, None),
        (True, "directory", None, None),
    ]
    out = apply(
        [{"path": str(tmp_path / "p"), "mode": "0700"}],
        [spec(tmp_path / "p" / "user.js", b"a\n", mode="0600"), spec(tmp_path / "ini", b"[General]\n", mode="0644")],
    )
    assert out["changed"] is True
    assert [d["changed"] for d in out["directories"]] == [True]
    assert [f["changed"] for f in out["files"]] == [True, True]  # a new file; a mode corrected
    assert mode(tmp_path / "ini") == 0o644
    assert (tmp_path / "p" / "user.js").read_bytes() == b"a\n" and mode(tmp_path / "p") == 0o700
    again = apply(
        [{"path": str(tmp_path / "p"), "mode": "0700"}],
        [spec(tmp_path / "p" / "user.js", b"a\n", mode="0600"), spec(tmp_path / "ini", b"[General]\n", mode="0644")],
    )
    assert again["changed"] is False


# -- who acts: the walk through directory descriptors, and run_as children ----------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing identity needs root")
NOBODY = pwd.getpwnam("nobody")


@pytest.fixture
def shared_dir():
    """A root-owned 0755 directory outside pytest's 0700 tmp_path, so that another user can reach into it."""
    path = Path(tempfile.mkdtemp(prefix="mailops-files-", dir="/var/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def owned_by_nobody(path: Path, directory: bool = True) -> Path:
    if directory:
        path.mkdir()
        path.chmod(0o755)
    os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid, follow_symlinks=False)
    return path


def decoy(directory: Path, text: bytes = b"ROOT-ONLY\n") -> tuple:
    path = directory / "root.secret"
    path.write_bytes(text)
    path.chmod(0o600)
    st = path.stat()
    return path, (st.st_ino, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), text)


def unchanged(path: Path, before: tuple) -> bool:
    st = path.stat()
    return (st.st_ino, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), path.read_bytes()) == before


@needs_root
def test_root_does_not_act_inside_a_directory_another_user_owns(shared_dir):
    home = owned_by_nobody(shared_dir / "home")
    with pytest.raises(FilesError, match=rf"^{home} belongs to user nobody: this task does not act inside a directory"):
        put_file(spec(home / "user.js"))
    with pytest.raises(FilesError, match=rf"^cannot create {home}/p: {home} belongs to user nobody: "):
        ensure_directory(str(home / "p"))
    assert list(home.iterdir()) == []


@needs_root
def test_root_does_not_follow_a_link_another_user_owns(shared_dir):
    target, before = decoy(shared_dir)
    link = shared_dir / "user.js"
    link.symlink_to(target)
    os.chown(link, NOBODY.pw_uid, NOBODY.pw_gid, follow_symlinks=False)
    with pytest.raises(FilesError, match=rf"^{link} is a symbolic link that belongs to user nobody: this task does"):
        put_file(spec(link))
    with pytest.raises(FilesError, match=rf"^{link} is a symbolic link that belongs to user nobody"):
        inspect([{"path": str(link), "read": True}])
    assert unchanged(target, before)


def test_a_directory_others_can_write_is_refused_unless_sticky(tmp_path):
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    with pytest.raises(FilesError, match=rf"^{open_dir} can be written by other users: this task does not act inside"):
        put_file(spec(open_dir / "f"))
    open_dir.chmod(0o1777)
    assert put_file(spec(open_dir / "f"))["changed"] is True


@needs_root
def test_run_as_writes_as_the_user_and_the_kernel_refuses_a_link_to_a_root_file(shared_dir):
    target, before = decoy(shared_dir)
    home = owned_by_nobody(shared_dir / "home")
    owned_by_nobody(home / "ok")
    owned_by_nobody(home / "attack")
    (home / "attack" / "user.js").symlink_to(target)
    os.chown(home / "attack" / "user.js", NOBODY.pw_uid, NOBODY.pw_gid, follow_symlinks=False)
    root_file = shared_dir / "root.conf"
    out = apply(
        [],
        [
            spec(home / "ok" / "user.js", b"mine\n", mode="0600", run_as="nobody"),
            spec(root_file, b"root's\n", mode="0644"),
        ],
    )
    written = home / "ok" / "user.js"
    assert written.read_bytes() == b"mine\n" and written.stat().st_uid == NOBODY.pw_uid and mode(written) == 0o600
    assert root_file.read_bytes() == b"root's\n" and root_file.stat().st_uid == 0
    assert [f.get("error") for f in out["files"]] == [None, None]

    attacked = apply([], [spec(home / "attack" / "user.js", b"pwned\n", mode="0600", run_as="nobody")])
    [done] = attacked["files"]
    assert done["error"].startswith(f"user nobody: cannot read {home}/attack/user.js: Permission denied")
    assert done["changed"] is False and attacked["changed"] is False
    assert unchanged(target, before)
    assert sorted(p.name for p in shared_dir.iterdir()) == ["home", "root.conf", "root.secret"]


@needs_root
def test_one_users_failure_leaves_the_others_done(shared_dir):
    first = owned_by_nobody(shared_dir / "first")
    (shared_dir / "root-only").mkdir(mode=0o700)
    seen = inspect(
        [
            {"path": str(shared_dir / "root-only" / "x"), "read": True, "run_as": "nobody"},
            {"path": str(first), "run_as": "nobody"},
            {"path": str(shared_dir / "root-only"), "read": True},
        ]
    )
    assert seen[0]["error"] == f"user nobody: cannot open {shared_dir}/root-only: Permission denied"
    assert seen[1]["error"] == seen[0]["error"]  # the user failed as a whole
    assert (seen[2]["exists"], seen[2]["type"], seen[2].get("error")) == (True, "directory", None)


@needs_root
def test_a_user_that_does_not_exist_is_acted_for_by_this_process(tmp_path):
    out = apply([{"path": str(tmp_path / "p"), "run_as": "no-such-user-x"}], [spec(tmp_path / "p" / "f", run_as="x")])
    assert out["changed"] is True and (tmp_path / "p" / "f").read_bytes() == b"new\n"


def test_files_above_the_size_limit_are_not_read(tmp_path):
    big = tmp_path / "prefs.js"
    with big.open("wb") as handle:
        handle.truncate(2 * 1024 * 1024 + 1)
    with pytest.raises(FilesError, match=rf"^{big} is larger than 2 MiB \(max_file_size\): not read; shrink or remove"):
        inspect([{"path": str(big), "read": True, "max_size": 2 * 1024 * 1024}])
    with pytest.raises(FilesError, match=rf"^{big} is larger than 1 MiB \(max_file_size\): not read; shrink or remove"):
        put_file(spec(big, max_size=1024 * 1024))
    assert big.stat().st_size == 2 * 1024 * 1024 + 1 and sorted(p.name for p in tmp_path.iterdir()) == ["prefs.js"]


def test_a_file_that_changed_since_it_was_read_is_not_written(tmp_path):
    dest = tmp_path / "prefs.js"
    dest.write_bytes(b"old\n")
    [seen] = inspect([{"path": str(dest), "read": True}])
    other = tmp_path / "user.js"
    dest.write_bytes(b"the user's edit\n")
    out = apply([], [spec(other, b"a\n", expect=[]), spec(dest, b"merged\n", expect=seen["version"])])
    assert [f.get("stale") for f in out["files"]] == [True, True]
    assert dest.read_bytes() == b"the user's edit\n" and not other.exists()  # nothing of the batch is written
    [again] = inspect([{"path": str(dest), "read": True}])
    out = apply([], [spec(dest, b"merged\n", expect=again["version"])])
    assert out["files"][0]["changed"] is True and dest.read_bytes() == b"merged\n"


@needs_root
def test_a_child_that_hangs_is_stopped(monkeypatch):
    monkeypatch.setattr(_files, "CHILD_TIMEOUT", 1)
    result, error = _files._as_user("nobody", lambda _arg: time.sleep(30), None)
    assert result is None
    assert error == "the process writing as nobody did not finish within 1 seconds and was stopped"


@needs_root
def test_the_child_really_is_the_user():
    result, error = _files._as_user("nobody", lambda _arg: [os.getuid(), os.geteuid(), os.getgid(), os.getgroups()], 0)
    assert error is None
    assert result[:3] == [NOBODY.pw_uid, NOBODY.pw_uid, NOBODY.pw_gid]
    assert 0 not in result[3]


# --- removal ------------------------------------------------------------------------------------------------


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_remove_only_a_regular_file_still_holding_the_written_bytes(tmp_path):
    ours, edited, target = tmp_path / "ours.conf", tmp_path / "edited.conf", tmp_path / "target.conf"
    ours.write_bytes(b"written\n")
    edited.write_bytes(b"written, then edited\n")
    target.write_bytes(b"written\n")
    link = tmp_path / "link.conf"
    link.symlink_to(target)
    (tmp_path / "dir.conf").mkdir()
    removals = [
        {"path": str(p), "expect_sha256": _sha(b"written\n")}
        for p in (ours, edited, link, tmp_path / "dir.conf", tmp_path / "missing.conf")
    ]
    check = apply([], [], True, removals)
    assert [(r["changed"], r["existed"], r.get("kept")) for r in check["removals"]] == [
        (True, True, None),
        (False, True, "changed"),
        (False, True, "not_a_file"),
        (False, True, "not_a_file"),
        (False, False, None),
    ]
    assert check["changed"] is True and ours.exists()
    done = apply([], [], False, removals)
    assert [r["changed"] for r in done["removals"]] == [True, False, False, False, False]
    assert not ours.exists()
    # what was not ours is untouched, a link is never followed (nor removed)
    assert edited.read_bytes() == b"written, then edited\n"
    assert link.is_symlink() and target.read_bytes() == b"written\n"
    assert apply([], [], False, removals)["changed"] is False


def test_remove_keeps_a_backup_when_asked(tmp_path):
    path = tmp_path / "a.conf"
    path.write_bytes(b"old\n")
    path.chmod(0o600)
    [done] = apply([], [], False, [{"path": str(path), "backup": True}])["removals"]
    backup = Path(done["backup_file"])
    assert not path.exists() and backup.read_bytes() == b"old\n" and stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_remove_never_acts_inside_a_directory_another_user_controls(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to give a directory to another user")
    nobody = pwd.getpwnam("nobody")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "a.conf").write_bytes(b"x")
    os.chown(theirs, nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(FilesError, match="belongs to user nobody: this task does not act inside a directory"):
        apply([], [], False, [{"path": str(theirs / "a.conf")}])
    assert (theirs / "a.conf").exists()
