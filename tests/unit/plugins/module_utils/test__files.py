# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/_files.py on a real temporary directory: what ends up on disk, in check mode and not."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
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
