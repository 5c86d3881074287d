# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailops.clients.apple_mail_profiles (documentation in plugins/modules/).

Rendering and signing happen here, on the controller; the target (the controller itself with
``delegate_to: localhost``, or a Mac) only receives finished files, in one batch (plugin_utils/_deploy.py:
atomic replace, backup, owner, mode). Nothing in the result, the diff or an error holds a password.
"""

from __future__ import annotations

import datetime
import plistlib

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.mailops.clients.plugins.plugin_utils._apple import (
    AppleProfileError,
    redacted_pair,
    render_profiles,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._cms import (
    CMSError,
    extract_content,
    is_current,
    load_signer,
    looks_signed,
    sign,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._compat import validate_task_args
from ansible_collections.mailops.clients.plugins.plugin_utils._deploy import (
    Deployer,
    file_spec,
    refusal,
    user_reason,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import (
    RENDERER_GATE_SPEC,
    VerifyError,
    renderer_gate,
)

ARGUMENT_SPEC = {
    "accounts": {"type": "list", "elements": "dict", "required": True, "no_log": False},
    "options": {"type": "dict", "default": {}},
    "signing": {
        "type": "dict",
        "options": {
            "certificate": {"type": "str", "required": True},
            "private_key": {"type": "str", "required": True, "no_log": True},
            "private_key_passphrase": {"type": "str", "no_log": True},
            "chain": {"type": "str"},
        },
    },
    "dest_dir": {"type": "str", "required": True},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "mode": {"type": "raw"},
    "dir_mode": {"type": "raw", "default": "0755"},
    "create_dirs": {"type": "bool", "default": True},
    "backup": {"type": "bool", "default": False},
    "expiry_warn_days": {"type": "int", "default": 30},
    "gate": RENDERER_GATE_SPEC,
}
USER_PLACEHOLDER = "{user}"


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        try:
            _validation, args = validate_task_args(self, ARGUMENT_SPEC)
            result.update(self._run(args, task_vars or {}))
        except (AppleProfileError, CMSError, VerifyError) as exc:
            raise AnsibleActionFail(str(exc)) from None
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    # -- helpers ---------------------------------------------------------------------------------

    def _expand(self, template, user, what):
        if USER_PLACEHOLDER in template:
            if not user:
                raise AnsibleActionFail(
                    f"{what} {template!r} contains {USER_PLACEHOLDER} but a profile has no user: give every account "
                    "a user, set mailops_apple_mail_default_user, or use a path without {user}"
                )
            template = template.replace(USER_PLACEHOLDER, user)
        return template

    def _dest_dir(self, template, user):
        path = self._expand(template, user, "dest_dir")
        if path.startswith("~"):
            expanded = self._remote_expand_user(path, sudoable=False)
            if expanded.startswith("~"):
                raise AnsibleActionFail(f"cannot find the home directory for {path.split('/', 1)[0]} on the target")
            path = expanded
        return path

    # -- the work --------------------------------------------------------------------------------

    def _run(self, args, task_vars):
        accounts, warnings = renderer_gate(args["accounts"], args["gate"], task_vars.get("inventory_hostname"))
        rendered = render_profiles(accounts, args["options"])
        warnings.extend(rendered.warnings)
        signer = None
        if args["signing"]:
            signing = args["signing"]
            signer = load_signer(
                signing["certificate"],
                signing["private_key"],
                signing.get("private_key_passphrase"),
                signing.get("chain"),
            )
            not_after = signer.not_after()
            now = datetime.datetime.now(datetime.timezone.utc)
            if not_after <= now:
                warnings.append(
                    f"the signing certificate expired on {not_after:%Y-%m-%d}: devices treat the profiles as unsigned"
                )
            elif not_after - now < datetime.timedelta(days=args["expiry_warn_days"]):
                warnings.append(f"the signing certificate expires on {not_after:%Y-%m-%d}; renew it and re-run")
        deployer = Deployer(self, task_vars)
        # a per-user directory (dest_dir with {user}, by default in the user's home) is read and written as that
        # user, and one user's failure does not stop the others
        per_user = USER_PLACEHOLDER in args["dest_dir"]
        planned = []
        failures = {}
        for profile in rendered.profiles:
            try:
                directory = self._dest_dir(args["dest_dir"], profile.user)
            except AnsibleActionFail as exc:
                if not per_user:
                    raise
                failures[profile.user] = str(exc.message)
                continue
            owner = self._expand(args["owner"], profile.user, "owner") if args["owner"] else None
            group = self._expand(args["group"], profile.user, "group") if args["group"] else None
            dest = self._connection._shell.join_path(directory, profile.filename)
            mode = args["mode"] if args["mode"] is not None else ("0600" if profile.contains_password else "0644")
            run_as = profile.user if per_user else None
            planned.append((profile, dest, owner, group, mode, run_as))
        # one batch of reads: signed profiles are compared by payload, not by bytes
        current = deployer.read({dest: run_as for _profile, dest, _o, _g, _m, run_as in planned})
        diffs = []
        files = []
        specs = []
        for profile, dest, owner, group, mode, run_as in planned:
            problem = refusal(current[dest], profile.user)
            if problem is not None:
                if run_as is None:
                    raise AnsibleActionFail(problem)
                failures.setdefault(profile.user, problem)
                continue
            existing = current[dest]["content"]
            plain = profile.plist()
            if existing is None:
                write = True
            elif signer is not None:
                write = not is_current(existing, plain, signer)
            else:
                write = existing != plain
            if write:
                if deployer.diff_mode:
                    diffs.append(self._diff(dest, existing, profile, signer is not None))
                data = sign(plain, signer) if signer is not None else plain
            else:
                data = existing  # up to date: only its attributes are corrected
            # Tighten an existing file before its content changes: the new password must never be readable
            # through the old file's mode.
            spec = file_spec(dest, data, mode, owner, group, args["backup"], profile.contains_password, run_as=run_as)
            specs.append(spec)
            files.append(dict(profile.summary(), dest=dest, signed=signer is not None, mode=mode))
        for entry, done in zip(files, deployer.put_files(specs, args["dir_mode"], args["create_dirs"])):
            if done.get("error"):
                failures.setdefault(entry.get("user"), user_reason(done["error"], entry.get("user")))
            entry.update(done)
        files = [f for f in files if f.get("user") not in failures]
        files += [{"user": user, "changed": False, "failed": True, "msg": failures[user]} for user in sorted(failures)]
        changed_any = any(entry["changed"] for entry in files)
        result = {"changed": changed_any, "profiles": files, "skipped_accounts": rendered.skipped}
        if failures:
            result["failed"] = True
            result["msg"] = "profiles of {} not written (the others were): {}".format(
                ", ".join(f"user {u}" for u in sorted(failures)),
                "; ".join(f"user {u}: {failures[u]}" for u in sorted(failures)),
            )
        if warnings:
            result["warnings"] = warnings
        if diffs:
            result["diff"] = diffs
        return result

    @staticmethod
    def _diff(dest, existing, profile, signed):
        old_payload = None
        before = ""
        if existing is not None:
            try:
                plain = extract_content(existing) if looks_signed(existing) else existing
                old_payload = plistlib.loads(plain)
            except (CMSError, IndexError, ValueError, plistlib.InvalidFileException):
                before = f"<{len(existing)} bytes that are not a readable profile>\n"
        before_text, after_text = redacted_pair(old_payload, profile.payload)
        if old_payload is not None:
            before = before_text
        suffix = " (signed)" if signed else ""
        return {
            "before_header": dest if existing is not None else "(absent)",
            "after_header": dest + suffix,
            "before": before,
            "after": after_text,
        }
