# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading and writing the renderers' files on the target, in batches.

Generic helper for the renderer actions (apple_mail_profiles, outlook_profiles, thunderbird_profiles). The
target only receives finished bytes. All of a task's reads go to the target in one batch (``inspect``/``read``)
and all of its writes in another (``apply``), each done by ``module_utils/_files.py``:

- through one run of the ``mailops.clients.rendered_files`` module on the target, or
- in this process when the target is the controller itself (``local`` connection, no become), which is where
  the Apple Mail and Outlook files and the autoconfig XML go (``delegate_to: localhost``): the same code, without
  starting a module.

Check mode is honoured either way, and a file whose bytes are unchanged is never rewritten, so a second run
reports ``changed: false``. Items with ``run_as`` (a file in a user's home) are read and written by that user
(``_files`` forks a child that drops to the user); a failure of one such user comes back as ``error`` on that
user's items, never as an exception, so that the caller can finish the other users and then fail.

The renderer base (plugin_utils/_renderer_action.py) makes one per run as ``self.deployer`` and cleans up after
it. Usage inside a renderer's ``render``::

    deployer = self.deployer
    current = deployer.read({dest: None})                 # {dest: entry}; refusal(entry) or entry["content"]
    [done] = deployer.put_files([file_spec(dest, data, mode="0644", backup=True)], dir_mode="0755")
    # done: {"changed": bool, "backup_file": str (when one was made), "before": bytes or None (with before=True)}
    deployer.apply([dir_spec(...)], [file_spec(...)])     # explicit directories, raw per-item outcomes
    done, removed = deployer.deploy([file_spec(...)], [removal_spec(path, expect_sha256=...)])
    # removal outcome: {"changed", "existed", "kept" (why left: changed/not_a_file/too_large), "backup_file"}

What a renderer wrote into a directory is recorded beside it (plugin_utils/_manifest.py), which tells a later
run what to remove.
"""

from __future__ import annotations

import base64
import posixpath

from ansible.errors import AnsibleActionFail
from ansible_collections.mailops.clients.plugins.module_utils import _files

MODULE = "mailops.clients.rendered_files"


def dir_spec(path, mode=None, owner=None, group=None, run_as=None) -> dict:
    return {"path": path, "mode": mode, "owner": owner, "group": group, "run_as": run_as}


def file_spec(
    path,
    content: bytes,
    mode=None,
    owner=None,
    group=None,
    backup=False,
    tighten_first=False,
    run_as=None,
    expect=None,
    max_size=_files.MAX_SIZE,
) -> dict:
    """``expect``: the ``version`` of the file when it was read ([] when absent); a changed file comes back stale."""
    return {
        "path": path,
        "content": content,
        "mode": mode,
        "owner": owner,
        "group": group,
        "backup": bool(backup),
        "tighten_first": bool(tighten_first),
        "run_as": run_as,
        "expect": expect,
        "max_size": max_size,
    }


def removal_spec(path, expect_sha256=None, backup=False, run_as=None, max_size=_files.MAX_SIZE) -> dict:
    """A file to remove (``_files.remove_file``): only a regular file, only while its bytes hash to
    ``expect_sha256`` (when given), as ``run_as`` (a file in a user's home)."""
    return {
        "path": path,
        "expect_sha256": expect_sha256,
        "backup": bool(backup),
        "run_as": run_as,
        "max_size": max_size,
    }


def expected_version(entry: dict):
    """What ``file_spec(expect=...)`` wants from an inspected entry: its version, or [] when nothing was there."""
    return entry["version"] if entry["exists"] else []


def user_reason(message: str, user) -> str:
    """``user alice: reason`` (a run_as failure) -> ``reason``, for messages that name the user themselves."""
    prefix = f"user {user}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def refusal(entry: dict, user=None):
    """Why an inspected file cannot be read and replaced, or None (its bytes are ``entry["content"]``).

    The reason of its ``run_as`` user's failure (without the ``user <name>:`` prefix), or something other than a
    regular file at the path.
    """
    if entry.get("error"):
        return user_reason(entry["error"], user)
    if entry["exists"] and entry["type"] != "file":
        return f"{entry['path']} exists and is not a regular file; move it away or choose another directory"
    return None


def parent_dirs(files: list, mode=None) -> list:
    """One directory spec per distinct parent of ``files`` (owner and group of its first file), in order."""
    seen = {}
    for spec in files:
        parent = posixpath.dirname(spec["path"])
        seen.setdefault(parent, dir_spec(parent, mode, spec["owner"], spec["group"], spec.get("run_as")))
    return list(seen.values())


class Deployer:
    """File operations of one action run on its target; ``action`` is the running ``ActionBase``."""

    def __init__(self, action, task_vars):
        self._action = action
        self._task_vars = task_vars
        connection = action._connection
        self.in_process = (
            getattr(connection, "transport", None) == "local"
            and not action._play_context.become
            and getattr(connection._shell, "SHELL_FAMILY", "sh") != "powershell"
        )

    @property
    def check_mode(self) -> bool:
        return bool(self._action._task.check_mode)

    @property
    def diff_mode(self) -> bool:
        return bool(self._action._task.diff)

    def _module(self, args: dict) -> dict:
        res = self._action._execute_module(module_name=MODULE, module_args=args, task_vars=self._task_vars)
        # a failure of run_as users only: the per-item errors are in the result, the others were done
        if res.get("failed") and not ("files" in res and "inspected" in res):
            raise AnsibleActionFail(res.get("msg", f"{MODULE} failed"))
        res.pop("failed", None)
        return res

    def inspect(self, items: list) -> dict:
        """``items``: ``{"path", "follow", "read", "max_size", "run_as"}``; returns ``{path: entry}``.

        See ``_files.inspect``: an entry of a ``run_as`` user who failed carries ``error``.
        """
        if not items:
            return {}
        if self.in_process:
            try:
                entries = _files.inspect(items)
            except _files.FilesError as exc:
                raise AnsibleActionFail(str(exc)) from None
        else:
            entries = self._module({"inspect": items})["inspected"]
            for entry in entries:
                if entry.get("content") is not None:
                    entry["content"] = base64.b64decode(entry["content"])
        return {entry["path"]: entry for entry in entries}

    def read(self, paths: dict, max_size=_files.MAX_SIZE) -> dict:
        """``paths``: ``{path: run_as user or None}``; returns ``{path: entry}`` (check each with ``refusal``)."""
        return self.inspect(
            [{"path": p, "follow": True, "read": True, "run_as": u, "max_size": max_size} for p, u in paths.items()]
        )

    def apply(self, directories: list, files: list, before: bool = False, removals: list = ()) -> dict:
        """Create ``directories``, remove ``removals`` (removal_spec), then put ``files`` (dir_spec/file_spec), in
        one batch (per run_as user: directories, removals, files).

        With ``before`` the old bytes of every changed file come back (for diffs). Returns
        ``{"changed", "directories": [...], "files": [...], "removals": [...]}`` in the order given; a removal
        outcome is ``_files.remove_file``'s (``changed``, ``existed``, ``kept``, ``backup_file``, ``error``).
        """
        removals = list(removals or [])
        if not directories and not files and not removals:
            return {"changed": False, "directories": [], "files": [], "removals": []}
        if self.in_process:
            try:
                return _files.apply(directories, [dict(f, before=before) for f in files], self.check_mode, removals)
            except _files.FilesError as exc:
                raise AnsibleActionFail(str(exc)) from None
        args = {
            "directories": directories,
            "files": [
                dict(f, content=base64.b64encode(f["content"]).decode("ascii"), return_before=before) for f in files
            ],
            "remove": removals,
        }
        res = self._module(args)
        for entry in res["files"]:
            if "before" in entry:
                entry["before"] = None if entry["before"] is None else base64.b64decode(entry["before"])
        return {
            "changed": bool(res.get("changed")),
            "directories": res["directories"],
            "files": res["files"],
            "removals": res.get("removed", []),
        }

    def put_files(self, files: list, dir_mode=None, create_dirs: bool = True, before: bool = False) -> list:
        """Put ``files`` (file_spec), creating each parent directory first unless ``create_dirs`` is false.

        Returns one outcome per file: ``changed`` (the file or its new parent directory), ``backup_file`` when a
        backup was made, ``before`` (old bytes or None) when asked for and the file changed, ``error`` when its
        ``run_as`` user failed, ``stale`` when it changed since it was read.
        """
        return self.deploy(files, (), dir_mode, create_dirs, before)[0]

    def deploy(self, files: list, removals=(), dir_mode=None, create_dirs: bool = True, before: bool = False):
        """``put_files`` and the removals (removal_spec, e.g. ``_manifest.Manifest.removals``) in one batch.

        Returns ``(file outcomes as put_files gives them, removal outcomes)``; a removal outcome has ``changed``
        (removed, or would be in check mode), ``existed``, ``kept`` (why a file that is there was left:
        ``changed``, ``not_a_file``, ``too_large``), ``backup_file``, ``error`` (its run_as user failed).
        """
        directories = parent_dirs(files, dir_mode) if create_dirs else []
        outcome = self.apply(directories, files, before=before, removals=removals)
        dir_changed = {d["path"]: d["changed"] for d in outcome["directories"]}
        results = []
        for spec, done in zip(files, outcome["files"]):
            result = {"changed": done["changed"] or dir_changed.get(posixpath.dirname(spec["path"]), False)}
            for key in ("error", "stale"):
                if done.get(key):
                    result[key] = done[key]
            for key in ("backup_file", "before"):
                if key in done and (key != "before" or done["changed"]):
                    result[key] = done[key]
            results.append(result)
        return results, outcome["removals"]

    def cleanup(self) -> None:
        self._action._remove_tmp_path(self._action._connection._shell.tmpdir)
