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

from ansible_collections.mailops.clients.plugins.plugin_utils._apple import (
    PROFILE_SUFFIX,
    absent_users,
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
from ansible_collections.mailops.clients.plugins.plugin_utils._deploy import file_spec, refusal, user_reason
from ansible_collections.mailops.clients.plugins.plugin_utils._manifest import Manifest
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_action import (
    USER_PLACEHOLDER,
    RendererAction,
    file_options,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_error import RendererError

CLIENT = "apple_mail"
# what the manifest keeps per profile besides its accounts and hash: the MDM removes a profile by its identifier
MANIFEST_EXTRAS = ("identifier", "user")


def _is_profile_name(name: str) -> bool:
    return name.endswith(PROFILE_SUFFIX) and len(name) > len(PROFILE_SUFFIX)


class ActionModule(RendererAction):
    OPTIONS = {
        **file_options(),
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
        "create_dirs": {"type": "bool", "default": True},
        "users": {"type": "list", "elements": "str", "default": []},
        "expiry_warn_days": {"type": "int", "default": 30},
    }
    NO_USER = (
        "a profile has no user: give every account a user, set mailops_apple_mail_default_user, or use a path "
        "without {user}"
    )

    def _signer(self, signing, expiry_warn_days):
        """The loaded signer (None: unsigned profiles); warns when its certificate expired or expires soon."""
        if not signing:
            return None
        signer = load_signer(
            signing["certificate"],
            signing["private_key"],
            signing.get("private_key_passphrase"),
            signing.get("chain"),
        )
        not_after = signer.not_after()
        now = datetime.datetime.now(datetime.timezone.utc)
        if not_after <= now:
            self.warnings.append(
                f"the signing certificate expired on {not_after:%Y-%m-%d}: devices treat the profiles as unsigned"
            )
        elif not_after - now < datetime.timedelta(days=expiry_warn_days):
            self.warnings.append(f"the signing certificate expires on {not_after:%Y-%m-%d}; renew it and re-run")
        return signer

    def render(self, args, accounts):
        rendered = render_profiles(accounts, args["options"])
        self.warnings.extend(rendered.warnings)
        signer = self._signer(args["signing"], args["expiry_warn_days"])
        # a per-user directory (dest_dir with {user}, by default in the user's home) is read and written as that
        # user, and one user's failure does not stop the others
        per_user = USER_PLACEHOLDER in args["dest_dir"]
        planned = []
        failures = {}
        # one manifest per destination directory (plugin_utils/_manifest.py): what was written there before and is
        # not written now is removed
        manifests = {}
        where = {}
        writing = {p.user for p in rendered.profiles}
        # without {user} there is one directory; with it, each user's: of a profile, an absent account, or in users
        candidates = [p.user for p in rendered.profiles] + absent_users(accounts, args["options"])
        candidates += args["users"] if per_user else [None]
        for user in dict.fromkeys(candidates):
            try:
                directory = self.expand(args["dest_dir"], user, "dest_dir")
                try:
                    owner = self.expand(args["owner"] or None, user, "owner", home=False)
                    group = self.expand(args["group"] or None, user, "group", home=False)
                except RendererError:
                    if user in writing or per_user:
                        raise
                    owner = group = None  # only the manifest of a directory without profiles now: keep its owner
            except RendererError as exc:
                if not per_user:
                    raise
                if user in writing:
                    failures.setdefault(user, str(exc))
                else:  # a user who only had absent accounts may be gone from the host: nothing to remove there
                    self.warnings.append(f"nothing removed for user {user}: {exc}")
                continue
            where[user] = (directory, owner, group)
            if directory not in manifests:
                run_as = user if per_user else None
                manifest = Manifest(directory, CLIENT, _is_profile_name, run_as=run_as, extras=MANIFEST_EXTRAS)
                manifests[directory] = (manifest, user, owner, group)
        for profile in rendered.profiles:
            if profile.user in failures:
                continue
            directory, owner, group = where[profile.user]
            dest = self.join(directory, profile.filename)
            mode = args["mode"] if args["mode"] is not None else ("0600" if profile.contains_password else "0644")
            run_as = profile.user if per_user else None
            planned.append((profile, dest, owner, group, mode, run_as, directory))
        # one batch of reads (the profiles and the manifests): signed profiles are compared by payload, not by bytes
        reads = {dest: run_as for _profile, dest, _o, _g, _m, run_as, _d in planned}
        reads.update({m.path: m.run_as for m, _u, _o, _g in manifests.values()})
        current = self.deployer.read(reads)
        for manifest, user, _owner, _group in manifests.values():
            problem = refusal(current[manifest.path], user)
            if problem is not None:
                if not per_user:
                    raise RendererError(problem, field="dest_dir")
                failures.setdefault(user, problem)
                continue
            self.warnings.extend(manifest.load(current[manifest.path]))
        files = []
        specs = []
        for profile, dest, owner, group, mode, run_as, directory in planned:
            problem = refusal(current[dest], profile.user)
            if problem is not None:
                if run_as is None:
                    raise RendererError(problem, field="dest_dir")
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
                if self.deployer.diff_mode:
                    self.diffs.append(self._diff(dest, existing, profile, signer is not None))
                data = sign(plain, signer) if signer is not None else plain
            else:
                data = existing  # up to date: only its attributes are corrected
            # Tighten an existing file before its content changes: the new password must never be readable
            # through the old file's mode.
            spec = file_spec(dest, data, mode, owner, group, args["backup"], profile.contains_password, run_as=run_as)
            specs.append(spec)
            files.append(dict(profile.summary(), dest=dest, signed=signer is not None, mode=mode))
            manifests[directory][0].record(
                profile.filename, data, profile.account_ids, identifier=profile.identifier, user=profile.user
            )
        # a user who failed keeps the manifest and the files as they are; the others get removals and a new manifest
        active = [(m, u, o, g) for m, u, o, g in manifests.values() if u not in failures or not per_user]
        removals = [(m, m.removals(args["backup"])) for m, _u, _o, _g in active]
        manifest_specs = [spec for spec in (m.spec(o, g) for m, _u, o, g in active) if spec is not None]
        done_files, done_removals = self.deployer.deploy(
            specs + manifest_specs,
            [spec for _m, batch in removals for spec in batch],
            args["dir_mode"],
            args["create_dirs"],
        )
        for entry, done in zip(files, done_files):
            if done.get("error"):
                failures.setdefault(entry.get("user"), user_reason(done["error"], entry.get("user")))
            entry.update(done)
        changed = any(done["changed"] for done in done_files)
        removed = []
        position = 0
        for manifest, batch in removals:
            outcomes = done_removals[position : position + len(batch)]
            position += len(batch)
            for done in outcomes:
                if done.get("error"):
                    failures.setdefault(manifest.run_as, user_reason(done["error"], manifest.run_as))
                changed = changed or done["changed"]
            gone, warnings = manifest.outcome(outcomes)
            self.warnings.extend(warnings)
            for entry in gone:
                removed.append(
                    {
                        "identifier": entry.get("identifier"),
                        "file": entry["file"],
                        "path": entry["path"],
                        "user": entry.get("user"),
                        "accounts": entry["accounts"],
                    }
                )
                if self.deployer.diff_mode:
                    self.diffs.append(
                        {
                            "before_header": entry["path"],
                            "after_header": "(absent)",
                            "before": f"profile {entry.get('identifier')} ({', '.join(entry['accounts'])})\n",
                            "after": "",
                        }
                    )
        files = [f for f in files if f.get("user") not in failures] + self.failed_users(failures)
        result = {
            "changed": changed,
            "profiles": files,
            "removed": removed,
            "skipped_accounts": rendered.skipped,
        }
        if failures:
            result["failed"] = True
            result["msg"] = "profiles of {} not written (the others were): {}".format(
                ", ".join(f"user {u}" for u in sorted(failures)),
                "; ".join(f"user {u}: {failures[u]}" for u in sorted(failures)),
            )
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
