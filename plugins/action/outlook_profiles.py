# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailops.clients.outlook_profiles (documentation in plugins/modules/).

Rendering happens here, on the controller (plugin_utils._outlook); the target (usually the controller with
``delegate_to: localhost``) only receives finished files, in one batch (plugin_utils/_deploy.py: atomic replace,
backup). None of the files holds a password, so results and diffs show the file text.
"""

from __future__ import annotations

import posixpath

from ansible_collections.mailops.clients.plugins.plugin_utils._deploy import file_spec, refusal
from ansible_collections.mailops.clients.plugins.plugin_utils._manifest import manifest_name
from ansible_collections.mailops.clients.plugins.plugin_utils._manifest import parse as parse_manifest
from ansible_collections.mailops.clients.plugins.plugin_utils._outlook import (
    file_text,
    is_output_path,
    reg_entries,
    registry_file_paths,
    render,
    windows_items,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_action import RendererAction, file_options
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_error import RendererError

CLIENT = "outlook"


class ActionModule(RendererAction):
    OPTIONS = {
        **file_options(mode="0644"),
        "dest_dir": {"type": "str", "required": True},
    }

    def render(self, args, accounts):
        # absent accounts too: render() removes what was written for them and renders none of them
        rendered = render(accounts, args["options"], self._previous_reg(args, accounts))
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
            "removed_registry": reg_entries(rendered.removals),
            "windows": windows_items(rendered),
            "skipped_accounts": rendered.skipped,
            "notes": rendered.notes,
        }

    def _previous_reg(self, args, accounts) -> dict:
        """The .reg files written before for these accounts' users and for every user directory the manifest of
        dest_dir lists (what was set and removed there), by relative path."""
        manifest = posixpath.join(args["dest_dir"], manifest_name(CLIENT))
        listed = self.deployer.read({manifest: None})[manifest]
        names = {}
        if not refusal(listed):
            names, warnings = parse_manifest(listed["content"], CLIENT, manifest, is_output_path, depth=3)
            self.warnings.extend(warnings)
        rels = registry_file_paths(accounts, args["options"], listed=sorted(names))
        paths = {rel: self.join(args["dest_dir"], *rel.split("/")) for rel in rels}
        entries = self.deployer.read(dict.fromkeys(paths.values()))
        previous = {}
        for rel, path in paths.items():
            entry = entries[path]
            reason = refusal(entry)
            if reason:
                raise RendererError(f"cannot read {path}: {reason}", field="dest_dir")
            previous[rel] = entry["content"] if entry["exists"] else None
        return previous

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
