# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Batched file operations of the renderers: inspect many paths, then create directories and replace files.

One call does what used to take a module execution per file operation (stat, slurp, file, copy): the renderer
actions (plugin_utils/_deploy.py) run it either through the ``rendered_files`` module on the target or, when the
target is the controller itself without become, in their own process. Standard library only.

Files are replaced atomically (a temporary file in the same directory, fsync, then ``os.replace``), an
unchanged file is never rewritten (only its attributes are corrected), and check mode changes nothing.
Contents are bytes; ``FilesError`` messages name the path and never contain file content.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import os
import pwd
import stat
import tempfile
import time


class FilesError(Exception):
    """A file operation failed; the message names the path and what to do."""


def _describe(exc: OSError) -> str:
    return exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))


_PERMISSION_BITS = {"r": 4, "w": 2, "x": 1}
_CLASS_SHIFT = {"u": 6, "g": 3, "o": 0}


def _symbolic_mode(text: str, path: str, given) -> int:
    """``u=rw,g=r,o=`` (every class set with ``=``) -> 0o640; relative forms (``+``/``-``) are refused."""
    value = 0
    classes = set()
    for clause in text.split(","):
        who, sign, perms = clause.partition("=")
        who = "ugo" if who in ("", "a") else who
        if not sign or not set(who) <= set("ugo") or not set(perms) <= set(_PERMISSION_BITS):
            classes = set()
            break
        for cls in who:
            classes.add(cls)
            value &= ~(7 << _CLASS_SHIFT[cls])
            for perm in perms:
                value |= _PERMISSION_BITS[perm] << _CLASS_SHIFT[cls]
    if classes != {"u", "g", "o"}:
        raise FilesError(
            f"{path}: mode {given!r} is not an octal mode or a complete symbolic one; give one such as '0644' or "
            "'u=rw,g=r,o=r'"
        )
    return value


def parse_mode(mode, path: str):
    """``None``, an int (already numeric), an octal string such as ``"0644"`` or ``"u=rw,g=r,o=r"`` -> int."""
    if mode is None or mode == "":
        return None
    if isinstance(mode, int) and not isinstance(mode, bool):
        value = mode
    else:
        text = str(mode).strip()
        try:
            value = int(text[2:] if text.lower().startswith("0o") else text, 8)
        except ValueError:
            value = _symbolic_mode(text, path, mode)
    if not 0 <= value <= 0o7777:
        raise FilesError(f"{path}: mode {mode!r} is out of range; give one such as '0644'")
    return value


def _account_id(name, path: str, what: str, lookup) -> int:
    """A user or group name (or numeric id) -> its id; -1 (leave as is) when none is given."""
    if name is None or name == "":
        return -1
    text = str(name)
    if text.isdigit():
        return int(text)
    try:
        return lookup(text)
    except KeyError:
        raise FilesError(f"{path}: {what} {text!r} does not exist on the target; create it or choose another") from None


def _uid(owner, path: str) -> int:
    return _account_id(owner, path, "owner", lambda name: pwd.getpwnam(name).pw_uid)


def _gid(group, path: str) -> int:
    return _account_id(group, path, "group", lambda name: grp.getgrnam(name).gr_gid)


def _kind(st) -> str:
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISDIR(st.st_mode):
        return "directory"
    if stat.S_ISLNK(st.st_mode):
        return "link"
    return "other"


def inspect(items: list) -> list:
    """For each ``{"path", "follow" (default True), "read" (default False)}``: what is there.

    Returns ``{"path", "exists", "type" (file/directory/link/other or None), "link_target", "content"}``;
    ``content`` holds the bytes of a regular file when ``read`` was asked, else None.
    """
    out = []
    for item in items:
        path = item["path"]
        entry = {"path": path, "exists": False, "type": None, "link_target": None, "content": None}
        try:
            st = os.stat(path) if item.get("follow", True) else os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            out.append(entry)
            continue
        except OSError as exc:
            raise FilesError(f"cannot inspect {path}: {_describe(exc)}") from None
        entry["exists"] = True
        entry["type"] = _kind(st)
        if entry["type"] == "link":
            try:
                entry["link_target"] = os.readlink(path)
            except OSError as exc:
                raise FilesError(f"cannot read the link {path}: {_describe(exc)}") from None
        if item.get("read") and entry["type"] == "file":
            try:
                with open(path, "rb") as handle:
                    entry["content"] = handle.read()
            except OSError as exc:
                raise FilesError(f"cannot read {path}: {_describe(exc)}") from None
        out.append(entry)
    return out


def _set_attributes(path: str, mode, owner, group, check_mode: bool, st=None) -> bool:
    """Correct mode/owner/group of an existing path; True when something differs (check mode: would)."""
    wanted_mode = parse_mode(mode, path)
    uid, gid = _uid(owner, path), _gid(group, path)
    if st is None:
        st = os.stat(path)
    mode_differs = wanted_mode is not None and stat.S_IMODE(st.st_mode) != wanted_mode
    owner_differs = (uid != -1 and st.st_uid != uid) or (gid != -1 and st.st_gid != gid)
    if check_mode or not (mode_differs or owner_differs):
        return mode_differs or owner_differs
    try:
        if owner_differs:
            os.chown(path, uid, gid)
        if mode_differs:
            os.chmod(path, wanted_mode)
    except OSError as exc:
        raise FilesError(f"cannot set the permissions of {path}: {_describe(exc)}") from None
    return True


def ensure_directory(path: str, mode=None, owner=None, group=None, check_mode: bool = False) -> bool:
    """Create ``path`` and its missing parents (each with mode/owner/group) or correct its attributes."""
    path = path.rstrip("/") or "/"
    missing = []
    probe = path
    while True:
        try:
            st = os.stat(probe)
        except (FileNotFoundError, NotADirectoryError):
            missing.append(probe)
            parent = os.path.dirname(probe)
            if parent == probe:
                break
            probe = parent
            continue
        except OSError as exc:
            raise FilesError(f"cannot create {path}: {_describe(exc)}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise FilesError(f"cannot create {path}: {probe} exists and is not a directory")
        break
    if not missing:
        return _set_attributes(path, mode, owner, group, check_mode)
    if check_mode:
        parse_mode(mode, path)
        return True
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:
            pass
        except OSError as exc:
            raise FilesError(f"cannot create {directory}: {_describe(exc)}") from None
        _set_attributes(directory, mode, owner, group, False)
    return True


def _backup(path: str, st) -> str:
    """Copy ``path`` next to itself (Ansible's naming: <name>.<pid>.<date>@<time>~), mode and owner kept."""
    backup = f"{path}.{os.getpid()}.{time.strftime('%Y-%m-%d@%H:%M:%S~', time.localtime())}"
    try:
        # created 0600 and only then given the original's mode: the copy is never more readable than its source
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
            out.write(src.read())
        os.chown(backup, st.st_uid, st.st_gid)
        os.chmod(backup, stat.S_IMODE(st.st_mode))
    except OSError as exc:
        raise FilesError(f"cannot back up {path}: {_describe(exc)}") from None
    return backup


def _replace(path: str, data: bytes, mode, uid: int, gid: int, st) -> None:
    """Write ``data`` to a temporary file beside ``path`` and move it over ``path`` in one step."""
    directory, name = os.path.split(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory or ".")
    except FileNotFoundError:
        raise FilesError(f"cannot write {path}: the directory {directory} does not exist") from None
    except OSError as exc:
        raise FilesError(f"cannot write {path}: {_describe(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is None:
            if st is not None:
                mode = stat.S_IMODE(st.st_mode)
            else:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
        # like ansible.builtin.copy: a replaced file keeps its owner unless one is asked for, and keeping it is
        # best effort for an unprivileged user (an owner that was asked for is not)
        asked = uid != -1 or gid != -1
        if st is not None:
            uid = st.st_uid if uid == -1 else uid
            gid = st.st_gid if gid == -1 else gid
        if uid != -1 or gid != -1:
            try:
                os.chown(tmp, uid, gid)
            except PermissionError:
                if asked:
                    raise
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise FilesError(f"cannot write {path}: {_describe(exc)}") from None


def put_file(spec: dict, check_mode: bool = False) -> dict:
    """Make ``spec["path"]`` hold ``spec["content"]`` (bytes).

    ``spec`` keys: path, content, mode, owner, group, backup (bool), tighten_first (bool: correct the attributes of
    the old file before its content changes, for files that hold a secret), before (bool: return the old bytes
    when the file changes). A symbolic link is followed. Returns ``{"path", "changed", "existed"}`` plus
    ``backup_file`` when a backup was made and ``before`` (bytes or None) when asked for.
    """
    path = spec["path"]
    data = spec["content"]
    real = os.path.realpath(path) if os.path.islink(path) else path
    try:
        st = os.stat(real)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:
        raise FilesError(f"cannot inspect {path}: {_describe(exc)}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise FilesError(f"{path} exists and is not a regular file; move it away or choose another directory")
    mode = parse_mode(spec.get("mode"), path)
    uid, gid = _uid(spec.get("owner"), path), _gid(spec.get("group"), path)
    old = None
    if st is not None:
        try:
            with open(real, "rb") as handle:
                old = handle.read()
        except OSError as exc:
            raise FilesError(f"cannot read {path}: {_describe(exc)}") from None
    result = {"path": path, "changed": False, "existed": st is not None}
    if old == data:
        result["changed"] = _set_attributes(real, mode, spec.get("owner"), spec.get("group"), check_mode, st)
        return result
    result["changed"] = True
    if spec.get("before"):
        result["before"] = old
    if check_mode:
        return result
    if st is not None and spec.get("tighten_first"):
        _set_attributes(real, mode, spec.get("owner"), spec.get("group"), False, st)
        st = os.stat(real)
    if st is not None and spec.get("backup"):
        result["backup_file"] = _backup(real, st)
    _replace(real, data, mode, uid, gid, st)
    return result


def apply(directories: list, files: list, check_mode: bool = False) -> dict:
    """Create/correct ``directories`` (in order), then put every file; returns per-item outcomes and ``changed``."""
    dir_results = []
    for spec in directories:
        changed = ensure_directory(spec["path"], spec.get("mode"), spec.get("owner"), spec.get("group"), check_mode)
        dir_results.append({"path": spec["path"], "changed": changed})
    file_results = [put_file(spec, check_mode) for spec in files]
    return {
        "directories": dir_results,
        "files": file_results,
        "changed": any(r["changed"] for r in dir_results + file_results),
    }
