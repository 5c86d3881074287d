# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailops.clients.outlook_profiles (documentation in plugins/modules/).

Rendering happens here, on the controller (plugin_utils._outlook); the target (usually the controller with
``delegate_to: localhost``) only receives finished files, in one batch (plugin_utils/_deploy.py: atomic replace,
backup). None of the files holds a password, so results and diffs show the file text.
"""

from __future__ import annotations

from ansible_collections.mailops.clients.plugins.plugin_utils._deploy import file_spec
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import present
from ansible_collections.mailops.clients.plugins.plugin_utils._outlook import (
    file_text,
    reg_entries,
    render,
    windows_items,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_action import RendererAction, file_options


class ActionModule(RendererAction):
    OPTIONS = {
        **file_options(mode="0644"),
        "dest_dir": {"type": "str", "required": True},
    }

    def render(self, args, accounts):
        rendered = render(present(accounts), args["options"])
        self.warnings.extend(rendered.warnings)
        owner, group, backup = args["owner"], args["group"], args["backup"]
        specs = [
            file_spec(
                self.join(args["dest_dir"], *out.path.split("/")), out.content, args["mode"], owner, group, backup
            )
            for out in rendered.files
        ]
        outcomes = self.deployer.put_files(specs, args["dir_mode"], before=self.deployer.diff_mode)
        files = []
        for out, spec, done in zip(rendered.files, specs, outcomes):
            if "before" in done:
                self.diffs.append(self._diff(spec["path"], done.pop("before"), out))
            files.append(dict(out.summary(), dest=spec["path"], **done))
        return {
            "changed": any(done["changed"] for done in outcomes),
            "files": files,
            "registry": reg_entries(rendered.registry),
            "windows": windows_items(rendered),
            "skipped_accounts": rendered.skipped,
            "notes": rendered.notes,
        }

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
