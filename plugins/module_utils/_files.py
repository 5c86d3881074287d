# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Batched file operations of the renderers: inspect many paths, then create directories and replace files.

One call does what used to take a module execution per file operation (stat, slurp, file, copy): the renderer
actions (plugin_utils/_deploy.py) run it either through the ``rendered_files`` module on the target or, when the
target is the controller itself without become, in their own process. Standard library only.

Who acts (docs/security.md has the threat model):

* An item with ``run_as`` (a user name) is read and written by a child process that has become that user
  (``setgroups``/``setgid``/``setuid`` before it opens anything), when this process is root and the user exists.
  The kernel then refuses whatever the user could not do themselves; one user's failure is reported on that
  user's items and never stops the other users.
* Every path is resolved one component at a time from ``/`` through directory descriptors (``openat`` with
  ``O_NOFOLLOW``): a directory is entered only when it belongs to the acting user or root and nobody else can
  write to it (unless it is sticky), and a symbolic link is followed only when that user or root owns it. So
  root never acts inside a directory another user controls.
* Files are replaced atomically: a new file is created with ``O_EXCL|O_NOFOLLOW`` in the open directory, its
  owner and mode are set on the descriptor (``fchown``/``fchmod``), then it is renamed over the old one relative
  to the same descriptor. An unchanged file is never rewritten (only its attributes are corrected, through a
  descriptor), and check mode changes nothing.
* A file may carry ``expect`` (the version ``inspect`` returned): when it changed since, nothing of that user is
  written and the file comes back ``stale`` so that the caller can merge again.

Contents are bytes; ``FilesError`` messages name the path and never contain file content.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import grp
import hashlib
import json
import os
import pwd
import secrets
import select
import signal
import stat
import time

MAX_SIZE = 16 * 1024 * 1024  # default limit of a file read (inspect read, the old content of a replaced file)
CHILD_TIMEOUT = 120  # seconds one user's child may take (a user's FUSE mount must not hang the task)
_MAX_LINKS = 40  # as the kernel's limit on symbolic links in one lookup (path_resolution(7))
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class FilesError(Exception):
    """A file operation failed; the message names the path and what to do."""


class _Missing(Exception):
    """A directory on the way to a path does not exist (and was not to be created)."""

    def __init__(self, path):
        super().__init__(path)
        self.path = path


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


def _user_name(uid: int) -> str:
    try:
        return f"user {pwd.getpwuid(uid).pw_name}"
    except KeyError:
        return f"uid {uid}"


def _kind(st) -> str:
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISDIR(st.st_mode):
        return "directory"
    if stat.S_ISLNK(st.st_mode):
        return "link"
    return "other"


def _version(st) -> list:
    """What tells a file apart from its later self: device, inode, size, modification time."""
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def _join(directory: str, name: str) -> str:
    return directory.rstrip("/") + "/" + name


# -- resolving a path through directory descriptors ---------------------------------------------------------


class _Walker:
    """Opens paths for the current identity, trusting only what it or root owns."""

    def __init__(self):
        self.uids = {0, os.geteuid()}
        self.gids = {0, os.getegid()}

    def check_dir(self, st, where: str) -> None:
        if st.st_uid not in self.uids:
            raise FilesError(
                f"{where} belongs to {_user_name(st.st_uid)}: this task does not act inside a directory another user "
                "controls (files in a user's directory are written as that user: see run_as)"
            )
        others = st.st_mode & stat.S_IWOTH or (st.st_mode & stat.S_IWGRP and st.st_gid not in self.gids)
        if others and not st.st_mode & stat.S_ISVTX:
            raise FilesError(
                f"{where} can be written by other users: this task does not act inside it (remove their write "
                "permission or choose another directory)"
            )

    def check_link(self, st, where: str) -> None:
        if st.st_uid not in self.uids:
            raise FilesError(
                f"{where} is a symbolic link that belongs to {_user_name(st.st_uid)}: this task does not follow it"
            )

    def _enter(self, fd: int, name: str, where: str, make) -> int:
        """Open the directory ``name`` in ``fd`` (without following a link), creating it when ``make`` says so."""
        try:
            new = os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
        except FileNotFoundError:
            if make is None:
                raise _Missing(where) from None
            try:
                os.mkdir(name, 0o700, dir_fd=fd)
            except FileExistsError:
                pass
            except OSError as exc:
                raise FilesError(f"cannot create {where}: {_describe(exc)}") from None
            new = os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
            try:
                _fix_attributes(new, os.fstat(new), where, make, False)
            except BaseException:
                os.close(new)
                raise
            make.setdefault("created", []).append(where)
        except NotADirectoryError:
            raise FilesError(f"{where} exists and is not a directory") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a link appeared after we looked: refuse rather than follow
                raise FilesError(f"{where} was replaced by a symbolic link while this task ran") from None
            raise FilesError(f"cannot open {where}: {_describe(exc)}") from None
        try:
            self.check_dir(os.fstat(new), where)
        except BaseException:
            os.close(new)
            raise
        return new

    def resolve(self, path: str, follow_last: bool = True, want_dir: bool = False, make=None):
        """``(fd, name, where)``: the open directory holding the last component, its name and the directory's path.

        With ``want_dir`` the whole path is a directory and ``(fd of it, None, path)`` is returned. Missing
        directories are created (mode/owner/group of ``make``) when ``make`` is given, else ``_Missing`` is raised.
        The caller closes ``fd``.
        """
        if not path.startswith("/"):
            path = os.path.abspath(path)
        todo = [c for c in path.split("/") if c not in ("", ".")]
        fd = os.open("/", _DIR_FLAGS)
        where = "/"
        links = 0
        try:
            self.check_dir(os.fstat(fd), "/")
            while todo:
                name = todo.pop(0)
                here = _join(where, name)
                last = not todo
                if name == "..":
                    parent = os.path.dirname(where.rstrip("/")) or "/"
                    new = os.open("..", _DIR_FLAGS, dir_fd=fd)
                    os.close(fd)
                    fd, where = new, parent
                    self.check_dir(os.fstat(fd), where)
                    continue
                try:
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    st = None
                except OSError as exc:
                    raise FilesError(f"cannot inspect {here}: {_describe(exc)}") from None
                if st is not None and stat.S_ISLNK(st.st_mode) and (not last or follow_last or want_dir):
                    links += 1
                    if links > _MAX_LINKS:
                        raise FilesError(f"{path}: too many levels of symbolic links")
                    self.check_link(st, here)
                    target = os.readlink(name, dir_fd=fd)
                    todo = [c for c in target.split("/") if c not in ("", ".")] + todo
                    if target.startswith("/"):
                        os.close(fd)
                        fd = os.open("/", _DIR_FLAGS)
                        where = "/"
                    continue
                if last and not want_dir:
                    return fd, name, where
                new = self._enter(fd, name, here, make)
                os.close(fd)
                fd, where = new, here
            return fd, None, where
        except BaseException:
            os.close(fd)
            raise


# -- attributes ------------------------------------------------------------------------------------------


def _fix_attributes(fd: int, st, path: str, spec, check_mode: bool) -> bool:
    """Correct mode/owner/group of an open file or directory; True when something differs (check mode: would)."""
    wanted_mode = parse_mode(spec.get("mode"), path)
    uid, gid = _uid(spec.get("owner"), path), _gid(spec.get("group"), path)
    mode_differs = wanted_mode is not None and stat.S_IMODE(st.st_mode) != wanted_mode
    owner_differs = (uid != -1 and st.st_uid != uid) or (gid != -1 and st.st_gid != gid)
    if check_mode or not (mode_differs or owner_differs):
        return bool(mode_differs or owner_differs)
    try:
        if owner_differs:
            os.fchown(fd, uid, gid)
        if mode_differs:
            os.fchmod(fd, wanted_mode)
    except OSError as exc:
        raise FilesError(f"cannot set the permissions of {path}: {_describe(exc)}") from None
    return True


def _read_limited(fd: int, path: str, limit: int) -> bytes:
    chunks = []
    size = 0
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise _too_large(path, limit)
        chunks.append(chunk)


def _too_large(path: str, limit: int) -> FilesError:
    size = f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"
    return FilesError(f"{path} is larger than {size} (max_file_size): not read; shrink or remove it")


def _open_regular(fd: int, name: str, path: str, limit):
    """``(fd, st, content)`` of the regular file ``name`` in ``fd`` (never through a link), or ``None``."""
    try:
        handle = os.open(name, os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FilesError(f"{path} was replaced by a symbolic link while this task ran") from None
        raise FilesError(f"cannot read {path}: {_describe(exc)}") from None
    try:
        st = os.fstat(handle)
        if not stat.S_ISREG(st.st_mode):
            raise FilesError(f"{path} exists and is not a regular file; move it away or choose another directory")
        limit = MAX_SIZE if limit is None else limit
        if st.st_size > limit:
            raise _too_large(path, limit)
        try:
            content = _read_limited(handle, path, limit)
        except OSError as exc:
            raise FilesError(f"cannot read {path}: {_describe(exc)}") from None
        return handle, st, content
    except BaseException:
        os.close(handle)
        raise


# -- inspect ---------------------------------------------------------------------------------------------


def _lstat(fd: int, name: str, path: str):
    """What is at ``name`` in ``fd`` (a link itself, not its target), or None when nothing is there."""
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise FilesError(f"cannot inspect {path}: {_describe(exc)}") from None


def _inspect_one(walker: _Walker, item: dict) -> dict:
    path = item["path"]
    entry = {"path": path, "exists": False, "type": None, "link_target": None, "content": None, "version": None}
    try:
        fd, name, _where = walker.resolve(path, follow_last=item.get("follow", True), want_dir=path.rstrip("/") == "")
    except _Missing:
        return entry
    try:
        if name is None:  # "/" itself
            entry.update(exists=True, type="directory")
            return entry
        st = _lstat(fd, name, path)
        if st is None:
            return entry
        entry.update(exists=True, type=_kind(st), version=_version(st))
        if entry["type"] == "link":
            try:
                entry["link_target"] = os.readlink(name, dir_fd=fd)
            except OSError as exc:
                raise FilesError(f"cannot read the link {path}: {_describe(exc)}") from None
        if item.get("read") and entry["type"] == "file":
            opened = _open_regular(fd, name, path, item.get("max_size"))
            if opened is not None:
                handle, st, entry["content"] = opened
                os.close(handle)
                entry["version"] = _version(st)
        return entry
    finally:
        os.close(fd)


# -- writing ---------------------------------------------------------------------------------------------


def ensure_directory(path: str, mode=None, owner=None, group=None, check_mode: bool = False) -> bool:
    """Create ``path`` and its missing parents (each with mode/owner/group) or correct its attributes."""
    return _ensure_directory(_Walker(), {"path": path, "mode": mode, "owner": owner, "group": group}, check_mode)


def _ensure_directory(walker: _Walker, spec: dict, check_mode: bool) -> bool:
    path = spec["path"].rstrip("/") or "/"
    parse_mode(spec.get("mode"), path)
    _uid(spec.get("owner"), path), _gid(spec.get("group"), path)
    make = None if check_mode else dict(spec, created=[])
    try:
        fd, _name, _where = walker.resolve(path, want_dir=True, make=make)
    except _Missing:
        return True  # check mode: it would be created
    except FilesError as exc:
        raise FilesError(f"cannot create {path}: {exc}") from None
    try:
        if make is not None and make["created"]:
            return True
        return _fix_attributes(fd, os.fstat(fd), path, spec, check_mode)
    finally:
        os.close(fd)


def _new_file(fd: int, name: str, path: str, data: bytes, mode: int, uid: int, gid: int) -> str:
    """A new file beside ``name`` in ``fd`` holding ``data`` with its final owner and mode; returns its name."""
    for _attempt in range(100):
        tmp = f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600, dir_fd=fd)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise FilesError(f"cannot write {path}: {_describe(exc)}") from None
    else:
        raise FilesError(f"cannot write {path}: no free temporary name in its directory")
    try:
        with os.fdopen(handle, "wb", closefd=False) as out:
            out.write(data)
            out.flush()
        os.fsync(handle)
        if uid != -1 or gid != -1:
            os.fchown(handle, uid, gid)
        os.fchmod(handle, mode)
    except OSError as exc:
        _discard(fd, tmp)
        raise FilesError(f"cannot write {path}: {_describe(exc)}") from None
    except BaseException:
        _discard(fd, tmp)
        raise
    finally:
        os.close(handle)
    return tmp


def _discard(fd: int, name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=fd)


def _backup(fd: int, name: str, path: str, old: bytes, st) -> str:
    """Copy the old bytes next to the file (Ansible's naming: <name>.<pid>.<date>@<time>~), mode and owner kept."""
    suffix = f".{os.getpid()}.{time.strftime('%Y-%m-%d@%H:%M:%S~', time.localtime())}"
    try:
        # created 0600 and only then given the original's mode: the copy is never more readable than its source
        handle = os.open(name + suffix, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600, dir_fd=fd)
        try:
            view = memoryview(old)
            while view:
                view = view[os.write(handle, view) :]
            with contextlib.suppress(PermissionError):  # an unprivileged user keeps the copy as their own
                os.fchown(handle, st.st_uid, st.st_gid)
            os.fchmod(handle, stat.S_IMODE(st.st_mode))
        finally:
            os.close(handle)
    except OSError as exc:
        raise FilesError(f"cannot back up {path}: {_describe(exc)}") from None
    return path + suffix


def _stale(expect, current) -> bool:
    """Whether the file is no longer what the caller read (``expect``: None = no check, [] = did not exist)."""
    if expect is None:
        return False
    return list(expect or []) != (list(current) if current else [])


def put_file(spec: dict, check_mode: bool = False, walker=None) -> dict:
    """Make ``spec["path"]`` hold ``spec["content"]`` (bytes).

    ``spec`` keys: path, content, mode, owner, group, backup (bool), tighten_first (bool: correct the attributes of
    the old file before its content changes, for files that hold a secret), before (bool: return the old bytes
    when the file changes), max_size (limit of the old file's size), expect (the ``version`` inspect returned;
    [] for "did not exist": when the file differs, nothing is written and ``stale`` is returned). A symbolic link
    is followed when the acting user or root owns it. Returns ``{"path", "changed", "existed"}`` plus
    ``backup_file`` when a backup was made, ``before`` (bytes or None) when asked for, ``stale`` when it changed.
    """
    walker = walker or _Walker()
    path = spec["path"]
    data = spec["content"]
    mode = parse_mode(spec.get("mode"), path)
    uid, gid = _uid(spec.get("owner"), path), _gid(spec.get("group"), path)
    try:
        fd, name, _where = walker.resolve(path)
    except _Missing as missing:
        if not check_mode:
            raise FilesError(f"cannot write {path}: the directory {missing.path} does not exist") from None
        return dict(
            {"path": path, "changed": True, "existed": False}, **({"before": None} if spec.get("before") else {})
        )
    try:
        if name is None:
            raise FilesError(f"{path} exists and is not a regular file; move it away or choose another directory")
        return _put(fd, name, path, spec, data, mode, uid, gid, check_mode)
    finally:
        os.close(fd)


def _put(fd, name, path, spec, data, mode, uid, gid, check_mode) -> dict:
    opened = _open_regular(fd, name, path, spec.get("max_size"))
    try:
        st = opened[1] if opened else None
        old = opened[2] if opened else None
        result = {"path": path, "changed": False, "existed": st is not None}
        if _stale(spec.get("expect"), _version(st) if st else None):
            result["stale"] = True
            return result
        if old == data:
            result["changed"] = _fix_attributes(opened[0], st, path, spec, check_mode)
            return result
        result["changed"] = True
        if spec.get("before"):
            result["before"] = old
        if check_mode:
            return result
        if st is not None and spec.get("tighten_first"):
            _fix_attributes(opened[0], st, path, spec, False)
            st = os.fstat(opened[0])
        if st is not None and spec.get("backup"):
            result["backup_file"] = _backup(fd, name, path, old, st)
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
        keep_uid = st.st_uid if st is not None and uid == -1 else uid
        keep_gid = st.st_gid if st is not None and gid == -1 else gid
        try:
            tmp = _new_file(fd, name, path, data, mode, keep_uid, keep_gid)
        except FilesError:
            if asked or st is None:
                raise
            tmp = _new_file(fd, name, path, data, mode, -1, -1)
        try:
            current = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            current = None
        if (st is None) != (current is None) or (st is not None and _version(st) != _version(current)):
            _discard(fd, tmp)  # changed under our feet (the user edited it): the caller merges again
            if "backup_file" in result:
                _discard(fd, os.path.basename(result.pop("backup_file")))
            result.update(changed=False, stale=True)
            return result
        try:
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except OSError as exc:
            _discard(fd, tmp)
            raise FilesError(f"cannot write {path}: {_describe(exc)}") from None
        return result
    finally:
        if opened:
            os.close(opened[0])


# -- removing --------------------------------------------------------------------------------------------


def remove_file(spec: dict, check_mode: bool = False, walker=None) -> dict:
    """Remove the regular file ``spec["path"]``, only when it is still what the caller wrote.

    ``spec`` keys: path, expect_sha256 (hex digest of the bytes the caller wrote, or None for no check), backup
    (bool: keep a copy first), max_size (a larger file is left alone). The last component is never followed
    (a symbolic link there is left alone, as is anything that is not a regular file), and the file is unlinked
    relative to the directory descriptor it was checked through, only when it is still the same inode. Returns
    ``{"path", "changed", "existed"}`` plus ``backup_file`` when a backup was made and ``kept`` (why it was left:
    ``changed`` when its bytes are not the expected ones, ``not_a_file`` when a link or something other than a
    regular file is there, ``too_large``).
    """
    walker = walker or _Walker()
    path = spec["path"]
    result = {"path": path, "changed": False, "existed": False}
    try:
        fd, name, _where = walker.resolve(path, follow_last=False)
    except _Missing:
        return result
    try:
        if name is None:
            return dict(result, existed=True, kept="not_a_file")
        st = _lstat(fd, name, path)
        if st is None:
            return result
        result["existed"] = True
        if not stat.S_ISREG(st.st_mode):
            return dict(result, kept="not_a_file")
        limit = spec.get("max_size") or MAX_SIZE
        if st.st_size > limit:
            return dict(result, kept="too_large")
        opened = _open_regular(fd, name, path, limit)
        if opened is None:
            return dict(result, existed=False)
        handle, st, old = opened
        os.close(handle)
        expected = spec.get("expect_sha256")
        if expected and hashlib.sha256(old).hexdigest() != str(expected).lower():
            return dict(result, kept="changed")
        result["changed"] = True
        if check_mode:
            return result
        if spec.get("backup"):
            result["backup_file"] = _backup(fd, name, path, old, st)
        try:
            current = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return dict(result, changed=False, existed=False)
        if _version(current) != _version(st):  # replaced since it was checked: leave what is there now
            if "backup_file" in result:
                _discard(fd, os.path.basename(result.pop("backup_file")))
            return dict(result, changed=False, kept="changed")
        try:
            os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            return dict(result, changed=False, existed=False)
        except OSError as exc:
            raise FilesError(f"cannot remove {path}: {_describe(exc)}") from None
        return result
    finally:
        os.close(fd)


# -- batches, per user -----------------------------------------------------------------------------------


def _by_identity(items: list) -> dict:
    """``{run_as or None: [(index, item), ...]}`` in first-seen order."""
    groups: dict = {}
    for index, item in enumerate(items):
        groups.setdefault(item.get("run_as") or None, []).append((index, item))
    return groups


def _inspect_batch(items) -> list:
    walker = _Walker()
    return [_inspect_one(walker, item) for _index, item in items]


def _apply_batch(work, check_mode: bool) -> dict:
    """One identity's directories, removals, then files; a stale file (``expect``) stops every write and removal
    of the batch. Removals come before the files so that a file written last (a manifest of what is there) is
    written only when every removal before it was done."""
    directories, files, removals = work
    walker = _Walker()
    dir_results = [
        {"path": spec["path"], "changed": _ensure_directory(walker, spec, check_mode)} for _i, spec in directories
    ]
    file_results = []
    stale = any(_is_stale(walker, spec) for _index, spec in files)
    removal_results = [
        {"path": spec["path"], "changed": False, "existed": True, "stale": True}
        if stale
        else remove_file(spec, check_mode, walker)
        for _index, spec in removals
    ]
    for _index, spec in files:
        if stale:
            file_results.append({"path": spec["path"], "changed": False, "existed": True, "stale": True})
            continue
        done = put_file(spec, check_mode, walker)
        stale = bool(done.get("stale"))
        file_results.append(done)
    return {"directories": dir_results, "files": file_results, "removals": removal_results}


def _is_stale(walker: _Walker, spec: dict) -> bool:
    """Whether a file with ``expect`` changed since it was read (checked for all files before any is written)."""
    if spec.get("expect") is None:
        return False
    try:
        fd, name, _where = walker.resolve(spec["path"])
    except _Missing:
        return _stale(spec["expect"], None)
    try:
        current = os.stat(name, dir_fd=fd, follow_symlinks=False) if name is not None else None
    except FileNotFoundError:
        current = None
    finally:
        os.close(fd)
    return _stale(spec["expect"], _version(current) if current is not None else None)


def _as_user(user: str, work, argument):
    """``work(argument)`` in a child that has become ``user``: ``(result, None)`` or ``(None, error message)``."""
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        pw = None
    if pw is None or os.geteuid() != 0 or pw.pw_uid == 0:
        # Not root, or nobody to become: this process acts as itself, and the walker only trusts itself and root.
        try:
            return work(argument), None
        except FilesError as exc:
            return None, str(exc)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become the user before anything is opened
        status = 0
        try:
            os.close(read_end)
            os.setgroups(os.getgrouplist(user, pw.pw_gid))
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            os.umask(0o077)
            try:
                payload = {"result": _encode(work(argument))}
            except FilesError as exc:
                payload = {"error": str(exc)}
            except Exception as exc:  # noqa: BLE001 - reported to the parent, never a traceback with content
                payload = {"error": f"unexpected {exc.__class__.__name__} while writing as {user}"}
            data = json.dumps(payload).encode("utf-8")
            while data:
                data = data[os.write(write_end, data) :]
        except BaseException:  # noqa: BLE001 - a child never returns into the parent's code
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        data = _read_child(read_end, pid)
    finally:
        os.close(read_end)
    _pid, status = os.waitpid(pid, 0)
    if data is None:
        return None, f"the process writing as {user} did not finish within {CHILD_TIMEOUT} seconds and was stopped"
    try:
        payload = json.loads(data.decode("utf-8"))
    except ValueError:
        return None, f"the process writing as {user} ended without a result (exit status {status})"
    if "error" in payload:
        return None, str(payload["error"])
    return _decode(payload["result"]), None


def _read_child(fd: int, pid: int):
    """Everything the child writes, or None when it took longer than CHILD_TIMEOUT (it is killed)."""
    deadline = time.monotonic() + CHILD_TIMEOUT
    chunks = []
    while True:
        left = deadline - time.monotonic()
        ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
        if not ready:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _encode(value):
    """bytes -> {"$b64": ...} so that results cross the pipe as JSON (never pickle: the child is untrusted)."""
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value):
    if isinstance(value, dict):
        if set(value) == {"$b64"}:
            return base64.b64decode(value["$b64"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def inspect(items: list) -> list:
    """For each ``{"path", "follow" (default True), "read" (default False), "max_size", "run_as"}``: what is there.

    Returns ``{"path", "exists", "type" (file/directory/link/other or None), "link_target", "content", "version"}``;
    ``content`` holds the bytes of a regular file when ``read`` was asked, else None; ``version`` is what
    ``put_file``'s ``expect`` compares. Items of a ``run_as`` user that could not be read carry ``error`` (and the
    user's other items too); other failures raise ``FilesError``.
    """
    out: list = [None] * len(items)
    for user, group in _by_identity(items).items():
        if user is None:
            for (index, _item), entry in zip(group, _inspect_batch(group)):
                out[index] = entry
            continue
        entries, error = _as_user(user, _inspect_batch, group)
        for position, (index, item) in enumerate(group):
            if error is not None:
                out[index] = {"path": item["path"], "exists": False, "type": None, "link_target": None}
                out[index].update(content=None, version=None, error=f"user {user}: {error}")
            else:
                out[index] = entries[position]
    return out


def apply(directories: list, files: list, check_mode: bool = False, removals: list = ()) -> dict:
    """Create/correct ``directories`` (in order), remove ``removals`` (``remove_file`` specs), then put every file;
    returns per-item outcomes (``directories``, ``files``, ``removals``) and ``changed``.

    Items with ``run_as`` are done by that user (see the module docstring), one child per user; when one of them
    fails, every item of that user carries ``error`` and the other users are still written.
    """
    removals = list(removals or [])
    dir_results: list = [None] * len(directories)
    file_results: list = [None] * len(files)
    removal_results: list = [None] * len(removals)
    first_file = len(directories)
    first_removal = first_file + len(files)
    for user, group in _by_identity([*directories, *files, *removals]).items():
        work = (
            [(i, spec) for i, spec in group if i < first_file],
            [(i - first_file, spec) for i, spec in group if first_file <= i < first_removal],
            [(i - first_removal, spec) for i, spec in group if i >= first_removal],
        )
        if user is None:
            done, error = _apply_batch(work, check_mode), None
        else:
            done, error = _as_user(user, lambda w: _apply_batch(w, check_mode), work)
        for key, results, target in (
            ("directories", dir_results, work[0]),
            ("files", file_results, work[1]),
            ("removals", removal_results, work[2]),
        ):
            for position, (index, spec) in enumerate(target):
                if error is not None:
                    results[index] = {"path": spec["path"], "changed": False, "error": f"user {user}: {error}"}
                else:
                    results[index] = done[key][position]
    return {
        "directories": dir_results,
        "files": file_results,
        "removals": removal_results,
        "changed": any(r["changed"] for r in dir_results + file_results + removal_results),
    }
