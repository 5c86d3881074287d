# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailops.clients.outlook_profiles (documentation in plugins/modules/).

Rendering happens here, on the controller (plugin_utils._outlook); the target (usually the controller with
``delegate_to: localhost``) only receives finished files, in one batch (plugin_utils/_deploy.py: atomic replace,
backup). None of the files holds a password, so results and diffs show the file text.
"""

from __future__ import annotations

from ansible_collections.mailops.clients.plugins.plugin_utils._deploy import file_spec, refusal
from ansible_collections.mailops.clients.plugins.plugin_utils._manifest import MAX_SIZE as MANIFEST_MAX_SIZE
from ansible_collections.mailops.clients.plugins.plugin_utils._manifest import Manifest
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
        "windows_plan": {"type": "bool", "default": True},
    }

    def render(self, args, accounts):
        owner, group, backup = args["owner"], args["group"], args["backup"]
        # what was written under dest_dir before (its manifest, plugin_utils/_manifest.py) and is not written now
        # (accounts absent, gone from the inventory, renamed; a user or domain without files) is removed
        manifest = Manifest(args["dest_dir"].rstrip("/") or "/", CLIENT, is_output_path, depth=3)
        entry = self.deployer.read({manifest.path: None}, MANIFEST_MAX_SIZE)[manifest.path]
        problem = refusal(entry)
        if problem is not None:
            raise RendererError(problem, field="dest_dir")
        self.warnings.extend(manifest.load(entry))
        # absent accounts too: render() deletes the registry values written for them (and for the users only the
        # manifest still lists) in removal .reg files, and renders none of them
        rendered = render(accounts, args["options"], self._previous_reg(args, accounts, manifest.old))
        self.warnings.extend(rendered.warnings)
        specs = [
            file_spec(
                self.join(args["dest_dir"], *out.path.split("/")), out.content, args["mode"], owner, group, backup
            )
            for out in rendered.files
        ]
        for out in rendered.files:
            manifest.record(out.path, out.content, out.accounts)
        removals = manifest.removals(backup)
        extra = [spec for spec in (manifest.spec(owner, group),) if spec is not None]
        outcomes, removed_outcomes = self.deployer.deploy(
            specs + extra, removals, args["dir_mode"], before=self.deployer.diff_mode
        )
        files = []
        for out, spec, done in zip(rendered.files, specs, outcomes):
            if "before" in done:
                self.diffs.append(self._diff(spec["path"], done.pop("before"), out))
            files.append(dict(out.summary(), dest=spec["path"], **done))
        removed, warnings = manifest.outcome(removed_outcomes)
        self.warnings.extend(warnings)
        if self.deployer.diff_mode:
            for gone in removed:
                before = f"(written by mailops.clients for {', '.join(gone['accounts'])})\n"
                self.diffs.append(
                    {"before_header": gone["path"], "after_header": "(absent)", "before": before, "after": ""}
                )
        result = {
            "changed": any(done["changed"] for done in outcomes + removed_outcomes),
            "files": files,
            "removed": [{"path": gone["file"], "dest": gone["path"], "accounts": gone["accounts"]} for gone in removed],
            "registry": reg_entries(rendered.registry),
            "removed_registry": reg_entries(rendered.removals),
            "skipped_accounts": rendered.skipped,
            "notes": rendered.notes,
        }
        # the role registers this result on every host; the plan is most of it and only a Windows host reads it
        if args["windows_plan"]:
            result["windows"] = windows_items(rendered)
        return result

    def _previous_reg(self, args, accounts, listed) -> dict:
        """The .reg files written before for these accounts' users and for every user directory of a file the
        manifest lists (``listed``): what was set and removed there, by relative path."""
        rels = registry_file_paths(accounts, args["options"], listed=sorted(listed))
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
