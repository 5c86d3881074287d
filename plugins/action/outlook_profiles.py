# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailops.clients.outlook_profiles (documentation in plugins/modules/).

Rendering happens here, on the controller (plugin_utils._outlook); the target (usually the controller with
``delegate_to: localhost``) only receives finished files, in one batch (plugin_utils/_deploy.py: atomic replace,
backup). None of the files holds a password, so results and diffs show the file text.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.mailops.clients.plugins.plugin_utils._compat import validate_task_args
from ansible_collections.mailops.clients.plugins.plugin_utils._deploy import Deployer, file_spec
from ansible_collections.mailops.clients.plugins.plugin_utils._outlook import (
    OutlookError,
    RegFileError,
    file_text,
    reg_entries,
    render,
    windows_items,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import (
    RENDERER_GATE_SPEC,
    VerifyError,
    renderer_gate,
)

ARGUMENT_SPEC = {
    "accounts": {"type": "list", "elements": "dict", "required": True, "no_log": False},
    "options": {"type": "dict", "default": {}},
    "dest_dir": {"type": "str", "required": True},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "mode": {"type": "raw", "default": "0644"},
    "dir_mode": {"type": "raw", "default": "0755"},
    "backup": {"type": "bool", "default": False},
    "gate": RENDERER_GATE_SPEC,
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        deployer = Deployer(self, task_vars or {})
        try:
            unused_validation, args = validate_task_args(self, ARGUMENT_SPEC)
            result.update(self._run(args, deployer, (task_vars or {}).get("inventory_hostname")))
        except (OutlookError, RegFileError, VerifyError) as exc:
            raise AnsibleActionFail(str(exc)) from None
        finally:
            deployer.cleanup()
        return result

    def _run(self, args, deployer, host):
        accounts, gate_warnings = renderer_gate(args["accounts"], args["gate"], host)
        rendered = render(accounts, args["options"])
        join = self._connection._shell.join_path
        owner, group, backup = args["owner"], args["group"], args["backup"]
        specs = [
            file_spec(join(args["dest_dir"], *out.path.split("/")), out.content, args["mode"], owner, group, backup)
            for out in rendered.files
        ]
        outcomes = deployer.put_files(specs, args["dir_mode"], before=deployer.diff_mode)
        files = []
        diffs = []
        for out, spec, done in zip(rendered.files, specs, outcomes):
            if "before" in done:
                diffs.append(self._diff(spec["path"], done.pop("before"), out))
            files.append(dict(out.summary(), dest=spec["path"], **done))
        changed_any = any(done["changed"] for done in outcomes)
        result = {
            "changed": changed_any,
            "files": files,
            "registry": reg_entries(rendered.registry),
            "windows": windows_items(rendered),
            "skipped_accounts": rendered.skipped,
            "notes": rendered.notes,
        }
        if gate_warnings or rendered.warnings:
            result["warnings"] = gate_warnings + list(rendered.warnings)
        if diffs:
            result["diff"] = diffs
        return result

    @staticmethod
    def _diff(dest, existing, out):
        if existing is None:
            before = ""
        else:
            try:
                before = file_text(existing)
            except UnicodeDecodeError:
                before = f"<{len(existing)} bytes that are not text>\n"
        return {
            "before_header": dest if existing is not None else "(absent)",
            "after_header": dest,
            "before": before,
            "after": out.text(),
        }
