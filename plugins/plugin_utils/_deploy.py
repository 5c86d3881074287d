# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing rendered files from an action plugin: compare, create directories, replace atomically.

Generic helper for the renderer actions (apple_mail_profiles, outlook_profiles, thunderbird_profiles). The
target only receives finished bytes: ``stat`` + ``slurp`` read the current file, ``file`` creates
directories and fixes attributes, ``copy`` replaces the file atomically (optionally with a backup). Check
mode is honoured by every module call (they run with the task's check mode), and a file whose bytes are
unchanged is never rewritten, so a second run reports ``changed: false``.

Usage inside ``ActionModule.run``::

    deployer = Deployer(self, task_vars)
    outcome = deployer.deploy(dest, data, mode="0644", backup=True, diff=lambda old: {...})
    # outcome: {"changed": bool, "backup_file": str (when one was made), "diff": dict (when diff mode)}
"""

from __future__ import annotations

import base64
import posixpath

from ansible.errors import AnsibleActionFail


class Deployer:
    """File operations of one action run on its target; ``action`` is the running ``ActionBase``."""

    def __init__(self, action, task_vars):
        self._action = action
        self._task_vars = task_vars
        self._dirs: set = set()

    @property
    def check_mode(self) -> bool:
        return bool(self._action._task.check_mode)

    @property
    def diff_mode(self) -> bool:
        return bool(self._action._task.diff)

    def module(self, name: str, args: dict, what: str) -> dict:
        """Run a module on the target; a failure becomes ``AnsibleActionFail("<what>: <msg>")``."""
        res = self._action._execute_module(module_name=name, module_args=args, task_vars=self._task_vars)
        if res.get("failed"):
            raise AnsibleActionFail(f"{what}: {res.get('msg', 'failed')}")
        return res

    def read(self, path: str) -> bytes | None:
        """Bytes of an existing regular file, None when there is none; fails for anything else."""
        stat = self.module(
            "ansible.legacy.stat",
            {"path": path, "follow": True, "get_checksum": False, "get_mime": False, "get_attributes": False},
            f"cannot inspect {path}",
        )["stat"]
        if not stat.get("exists"):
            return None
        if not stat.get("isreg"):
            raise AnsibleActionFail(
                f"{path} exists and is not a regular file; move it away or choose another directory"
            )
        res = self.module("ansible.legacy.slurp", {"src": path}, f"cannot read {path}")
        return base64.b64decode(res["content"])

    def ensure_dir(self, path: str, mode=None, owner=None, group=None) -> bool:
        """Create a directory (and missing parents) once per run; True when something changed."""
        if path in self._dirs:
            return False
        res = self.module(
            "ansible.legacy.file",
            {"path": path, "state": "directory", "mode": mode, "owner": owner, "group": group},
            f"cannot create {path}",
        )
        self._dirs.add(path)
        return bool(res.get("changed"))

    def set_attributes(self, path: str, mode=None, owner=None, group=None) -> bool:
        res = self.module(
            "ansible.legacy.file",
            {"path": path, "state": "file", "mode": mode, "owner": owner, "group": group},
            f"cannot set the permissions of {path}",
        )
        return bool(res.get("changed"))

    def write(self, dest: str, data: bytes, mode=None, owner=None, group=None, backup=False) -> dict:
        """Replace ``dest`` atomically with ``data``; returns ``{"backup_file": ...}`` when a backup was made."""
        action = self._action
        tmpdir = action._connection._shell.tmpdir or action._make_tmp_path()
        src = action._connection._shell.join_path(tmpdir, "deploy-" + posixpath.basename(dest))
        action._transfer_data(src, data)
        action._fixup_perms2((tmpdir, src))
        res = self.module(
            "ansible.legacy.copy",
            {
                "src": src,
                "dest": dest,
                "mode": mode,
                "owner": owner,
                "group": group,
                "backup": backup,
                "_original_basename": posixpath.basename(dest),
                "follow": True,
            },
            f"cannot write {dest}",
        )
        return {"backup_file": res["backup_file"]} if res.get("backup_file") else {}

    def deploy(
        self, dest: str, data: bytes, mode=None, owner=None, group=None, backup=False, dir_mode=None, diff=None
    ) -> dict:
        """Make ``dest`` hold ``data`` (creating its directory); the outcome as described in the module docs.

        ``diff`` is called with the current bytes (or None) when diff mode is on and the file changes; it
        returns the diff dictionary (``before``, ``after``, headers) and must not put secrets into it.
        """
        changed = self.ensure_dir(posixpath.dirname(dest), dir_mode, owner, group)
        existing = self.read(dest)
        outcome: dict = {}
        if existing != data:
            changed = True
            if self.diff_mode and diff is not None:
                outcome["diff"] = diff(existing)
            if not self.check_mode:
                outcome.update(self.write(dest, data, mode, owner, group, backup))
        else:
            changed = self.set_attributes(dest, mode, owner, group) or changed
        outcome["changed"] = changed
        return outcome

    def cleanup(self) -> None:
        self._action._remove_tmp_path(self._action._connection._shell.tmpdir)
