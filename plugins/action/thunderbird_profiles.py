# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailops.clients.thunderbird_profiles (documentation in plugins/modules/).

Rendering runs on the controller (plugins/plugin_utils/_thunderbird.py); the target is read and written in
batches through plugin_utils/_deploy.py (atomic replace, backup, owner, mode): every profiles.ini, then every
profile's directory, lock, user.js and prefs.js (key allocation needs the current prefs), then one write of all
directories and files.
"""

from __future__ import annotations

import re

from ansible_collections.mailops.clients.plugins.module_utils._files import MAX_SIZE
from ansible_collections.mailops.clients.plugins.plugin_utils._deploy import (
    dir_spec,
    expected_version,
    file_spec,
    refusal,
    removal_spec,
    user_reason,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import is_absent, present
from ansible_collections.mailops.clients.plugins.plugin_utils._manifest import MAX_SIZE as MANIFEST_MAX_SIZE
from ansible_collections.mailops.clients.plugins.plugin_utils._manifest import Manifest, relative_name, sha256
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_action import RendererAction, file_options
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_error import RendererError
from ansible_collections.mailops.clients.plugins.plugin_utils._thunderbird import (
    ThunderbirdError,
    account_name,
    check_options,
    check_profile_inside,
    logins_summary,
    migrate_filter_rules,
    migrate_logins,
    new_profiles_ini,
    parse_profiles_ini,
    plan_profile,
    profile_lock_pid,
    render_autoconfig_xml,
    render_enterprise,
    select_profiles,
    server_directory,
)

STALE_ROUNDS = 3  # reads and merges of a user whose files keep changing under the task


class ActionModule(RendererAction):
    OPTIONS = {
        **file_options(dir_mode="0700"),
        "output": {"type": "str", "default": "profiles", "choices": ["profiles", "enterprise", "autoconfig_xml"]},
        "users": {"type": "list", "elements": "str", "default": []},
        "profiles_root": {"type": "str", "default": "~{user}/.thunderbird"},
        "profile": {"type": "str", "default": "default"},
        "create_profile": {"type": "bool", "default": False},
        "when_running": {"type": "str", "default": "fail", "choices": ["fail", "skip", "ignore"]},
        "dest": {"type": "str"},
        "xml_filename": {"type": "str", "default": "{domain}.xml"},
        "max_file_size": {"type": "int", "default": MAX_SIZE},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    }

    def check_target(self):
        if getattr(self._connection._shell, "SHELL_FAMILY", "sh") == "powershell":
            raise RendererError(
                "thunderbird_profiles writes through the POSIX file modules; on Windows hosts render on the "
                "controller (delegate_to: localhost) and copy with ansible.windows.win_copy"
            )

    def _gate(self, args):
        if args["state"] == "absent":
            # host-level removal: every account is absent, so nothing is rendered and nothing needs to verify
            args["accounts"] = [dict(account, state="absent") for account in args["accounts"]]
        return super()._gate(args)

    def render(self, args, accounts):
        # accounts with state: absent stay in: they name the user whose profile loses them (plan_profile)
        args["accounts"] = accounts
        self._changed = False
        self._dirs = []
        self._files = []
        self._followups = []
        self._args = args
        # an option mistake is the task's, not a user's: refuse it before anything is read or written
        check_options(args["options"])
        wanted = present(accounts)
        if wanted:
            account_name(args["options"].get("account_name_format", "{email}"), wanted[0])
        if args["output"] == "profiles":
            result = self._profiles()
        elif args["output"] == "enterprise":
            result = self._enterprise()
        else:
            result = self._autoconfig_xml()
        result["changed"] = self._changed
        return result

    # -- target I/O (in batches, through the shared Deployer of plugin_utils/_deploy.py) -----------

    @staticmethod
    def _text(data):
        return None if data is None else data.decode("utf-8", errors="surrogateescape")

    def _mkdir(self, path, owner, group, mode, run_as=None):
        self._dirs.append(dir_spec(path, mode, owner, group, run_as))

    def _write(self, dest, new, owner, group, mode, label, run_as=None, expect=None, shown=None):
        """Queue ``new`` (text) for ``dest``; the returned entry is completed by ``_flush``.

        ``shown``: a function of the old and new text giving what the diff shows instead of the file's bytes.
        """
        entry = {"path": dest, "changed": False}
        data = new.encode("utf-8", errors="surrogateescape")
        spec = file_spec(dest, data, mode, owner, group, self._args["backup"], run_as=run_as, expect=expect)
        self._files.append((entry, label, dict(spec, shown=shown)))
        return entry

    def _flush(self, removals=()):
        """Create the queued directories, remove ``removals`` (outcomes in ``self._removals_done``) and write the
        queued files in one batch; complete their entries.

        Returns ``{user: reason}`` for the run_as users who failed and the set of users with a stale file.
        """
        specs = [{k: v for k, v in spec.items() if k != "shown"} for _e, _l, spec in self._files]
        outcome = self.deployer.apply(self._dirs, specs, before=self._task.diff, removals=removals)
        self._removals_done = outcome["removals"]
        failed = {}
        stale = set()
        for done, spec in zip(outcome["directories"], self._dirs):
            if done.get("error"):
                failed.setdefault(spec["run_as"], done["error"])
        for (entry, label, spec), done in zip(self._files, outcome["files"]):
            if done.get("error"):
                failed.setdefault(spec["run_as"], done["error"])
                continue
            if done.get("stale"):
                stale.add(spec["run_as"])
                continue
            entry["changed"] = done["changed"]
            self._changed = self._changed or done["changed"]
            if done.get("backup_file"):
                entry["backup_file"] = done["backup_file"]
            if done["changed"] and "before" in done:
                old = self._text(done["before"])
                dest = spec["path"]
                after = self._text(spec["content"])
                if spec["shown"] is not None:
                    old, after = spec["shown"](old), spec["shown"](after)
                self.diffs.append(
                    {
                        "before_header": dest if old is not None else f"{dest} (absent)",
                        "after_header": f"{dest} ({label})",
                        "before": old or "",
                        "after": after,
                    }
                )
        self._changed = self._changed or any(d["changed"] for d in outcome["directories"] if not d.get("error"))
        self._dirs, self._files = [], []
        return failed, stale

    # -- profiles --------------------------------------------------------------------------------
    #
    # Everything in a user's home is read and written as that user (run_as: the rendered_files child drops to
    # the user), and a hostile or broken file of one user fails that user only: the others are written, then the
    # task fails naming each refused user. A file the user changed between our read and our write comes back
    # stale; that user is read and planned again, at most STALE_ROUNDS times.

    def _profiles(self):
        args = self._args
        by_user: dict = {}
        skipped = []
        userless_absent = []
        for account in args["accounts"]:
            if not account.get("user"):
                (userless_absent if is_absent(account) else skipped).append(account["id"])
                continue
            by_user.setdefault(account["user"], []).append(account)
        if skipped:
            self.warnings.append(
                "accounts without a user are not written into any profile (give them a user, or use the enterprise "
                f"output): {', '.join(skipped)}"
            )
        for user in args["users"]:
            by_user.setdefault(user, [])
        # an absent account leaves every profile this task manages (our marked accounts that the inventory no
        # longer holds go); only when no profile is managed at all does a missing user mean nothing is removed
        if userless_absent and not by_user:
            self.warnings.append(
                "absent accounts without a user are removed from no profile, as no user's profile is managed on this "
                "host (give them their user, or list it in mailops_thunderbird_users): " + ", ".join(userless_absent)
            )
        mode = args["mode"] if args["mode"] is not None else "0600"
        users = []
        failures: dict = {}
        for user in sorted(by_user):
            try:
                root = self.expand(args["profiles_root"], user, "profiles_root")
                owner = self.expand(args["owner"], user, "owner")
                group = self.expand(args["group"], user, "group")
            except RendererError as exc:
                failures[user] = str(exc)
                continue
            users.append(
                {
                    "user": user,
                    "accounts": by_user[user],
                    "owner": owner,
                    "group": group,
                    "root": root,
                    "ini": self.join(root, "profiles.ini"),
                    "mode": mode,
                }
            )
        results: dict = {}
        pending = users
        for _round in range(STALE_ROUNDS):
            stale = self._profiles_round(pending, results, failures)
            pending = [u for u in pending if u["user"] in stale]
            if not pending:
                break
        for u in pending:
            failures[u["user"]] = (
                f"its Thunderbird files changed while this task wrote them, {STALE_ROUNDS} times in a row (is "
                "Thunderbird running?); nothing of this user was written, run again"
            )
        ordered = []
        for user in sorted(by_user):
            if user in failures:
                ordered.append({"user": user, "changed": False, "failed": True, "msg": failures[user]})
            else:
                ordered.extend(results.get(user, []))
        for entry in ordered:
            files = entry.get("files")
            if files is not None:
                entry["changed"] = entry["created"] or any(f["changed"] for f in files)
        out = {"profiles": ordered, "skipped_accounts": skipped}
        if failures:
            out["failed"] = True
            reasons = "; ".join(f"user {user}: {failures[user]}" for user in sorted(failures))
            out["msg"] = (
                f"{len(failures)} of {len(by_user)} users not written (the others were): {reasons}"
                if len(failures) < len(by_user)
                else f"no user written: {reasons}"
            )
        return out

    def _profiles_round(self, users, results, failures):
        """Read, plan and write ``users`` once; fills ``results``/``failures``; returns the users with stale files."""
        inis = self.deployer.read({u["ini"]: u["user"] for u in users}, self._args["max_file_size"])
        planned = []
        for u in users:
            entry = inis[u["ini"]]
            try:
                problem = refusal(entry, u["user"])
                if problem is not None:
                    raise ThunderbirdError(problem)
                u["ini_version"] = expected_version(entry)
                planned.append((u, self._user_profiles(u, self._text(entry["content"]))))
            except ThunderbirdError as exc:
                failures[u["user"]] = str(exc)
        todo = [item for _u, items in planned if isinstance(items, list) for item in items]
        seen = self._inspect_profiles(todo)
        entries: dict = {}
        for u, items in planned:
            user = u["user"]
            if isinstance(items, dict):
                entries[user] = [items]
                continue
            try:
                entries[user] = [self._profile(item, seen) for item in items]
            except ThunderbirdError as exc:
                failures[user] = str(exc)
        self._migrate_files(failures)
        # nothing of a refused user is written, not even the profiles planned before the refusal
        self._dirs = [d for d in self._dirs if d["run_as"] not in failures]
        self._files = [f for f in self._files if f[2]["run_as"] not in failures]
        refused, stale = self._flush()
        for user, reason in refused.items():
            failures[user] = user_reason(reason, user)
        for user, value in entries.items():
            if user not in failures and user not in stale:
                results[user] = value
        return stale

    def _user_profiles(self, u, ini):
        """The profiles to write for one user, or the result entry that says why there are none."""
        user, root = u["user"], u["root"]
        accounts = present(u["accounts"])  # nothing is created only to remove accounts
        profiles = parse_profiles_ini(ini, root) if ini is not None else []
        created = False
        if not profiles:
            if not self._args["create_profile"]:
                if accounts:
                    self.warnings.append(
                        f"user {user}: no Thunderbird profile in {root} (no profiles.ini or no profile in it); start "
                        "Thunderbird once or set mailops_thunderbird_create_profile: true"
                    )
                return {"user": user, "profile": None, "path": None, "changed": False, "skipped": "no profile"}
            if not accounts:
                return []
            self._mkdir(root, u["owner"], u["group"], self._args["dir_mode"], user)
            self._write(
                u["ini"], new_profiles_ini(), u["owner"], u["group"], "0644", "new profile", user, u["ini_version"]
            )
            profiles = parse_profiles_ini(new_profiles_ini(), root)
            created = True
        selected = select_profiles(profiles, self._args["profile"], f" for user {user} in {root}")
        for profile in selected:
            check_profile_inside(profile, root, u["ini"])
        return [dict(u, profile=profile, created=created) for profile in selected]

    def _inspect_profiles(self, todo):
        """One batch for every profile: the directory, its lock link, user.js, prefs.js (and live lock owners)."""
        items = []
        max_size = self._args["max_file_size"]
        for item in todo:
            path = item["profile"]["path"]
            user = item["user"]
            items += [
                {"path": path, "follow": True, "run_as": user},
                {"path": self.join(path, "lock"), "follow": False, "run_as": user},
                {"path": self.join(path, "user.js"), "read": True, "run_as": user, "max_size": max_size},
                {"path": self.join(path, "prefs.js"), "read": True, "run_as": user, "max_size": max_size},
            ]
        seen = self.deployer.inspect(items)
        pids = set()
        for item in todo:
            lock = seen[self.join(item["profile"]["path"], "lock")]
            pid = profile_lock_pid(lock["link_target"]) if lock["type"] == "link" else None
            if pid is not None:
                pids.add(f"/proc/{pid}")
        # only when a profile is locked: is the process that holds the lock alive?
        seen.update(self.deployer.inspect([{"path": p} for p in sorted(pids)]))
        return seen

    def _running(self, path, seen):
        lock = seen[self.join(path, "lock")]
        if lock["type"] != "link":
            return False
        pid = profile_lock_pid(lock["link_target"])
        return True if pid is None else seen[f"/proc/{pid}"]["exists"]

    def _profile(self, item, seen):
        user, profile, created = item["user"], item["profile"], item["created"]
        owner, group, mode = item["owner"], item["group"], item["mode"]
        path = profile["path"]
        entry = {"user": user, "profile": profile["name"], "path": path, "changed": False}
        user_js_path = self.join(path, "user.js")
        prefs_js_path = self.join(path, "prefs.js")
        for key in (path, self.join(path, "lock"), user_js_path, prefs_js_path):
            if seen[key].get("error"):
                raise ThunderbirdError(user_reason(seen[key]["error"], user))
        if not seen[path]["exists"]:
            if not created:
                self.warnings.append(f"user {user}: profile {profile['name']} points at {path}, which does not exist")
                entry["skipped"] = "missing directory"
                return entry
            self._mkdir(path, owner, group, self._args["dir_mode"], user)
        if self._running(path, seen):
            message = f"Thunderbird is running with profile {path}"
            if self._args["when_running"] == "fail":
                raise ThunderbirdError(
                    message + "; close it (it rewrites prefs.js on exit) or set mailops_thunderbird_when_running"
                )
            if self._args["when_running"] == "skip":
                self.warnings.append(f"user {user}: {message}; left alone")
                entry["skipped"] = "running"
                return entry
            self.warnings.append(
                f"user {user}: {message}; written anyway, Thunderbird may undo the prefs.js part (and moved saved "
                "passwords) on exit"
            )
        for key in (user_js_path, prefs_js_path):
            problem = refusal(seen[key], user)
            if problem is not None:
                raise ThunderbirdError(problem)
        user_js = self._text(seen[user_js_path]["content"])
        prefs_js = self._text(seen[prefs_js_path]["content"])
        where = f" (user {user}, profile {path})"
        plan = plan_profile(item["accounts"], user_js, prefs_js, self._args["options"], where)
        self.warnings.extend(plan.warnings)
        files = []
        if not (user_js is None and not plan.user_js):
            files.append(
                self._write(
                    user_js_path,
                    plan.user_js,
                    owner,
                    group,
                    mode,
                    "managed block",
                    user,
                    expected_version(seen[user_js_path]),
                )
            )
        if plan.prefs_js is not None:
            files.append(
                self._write(
                    prefs_js_path,
                    plan.prefs_js,
                    owner,
                    group,
                    mode,
                    "account lists",
                    user,
                    expected_version(seen[prefs_js_path]),
                )
            )
        entry.update(
            {
                "created": created,
                "accounts": plan.keys,
                "removed": plan.removed,
                "renamed": plan.renamed,
                "moved": [move.describe() for move in plan.moves],
                "files": files,
            }
        )
        if plan.moves:
            self._followups.append((item, plan, prefs_js, entry))
        return entry

    # -- files that follow a moved server ----------------------------------------------------------
    #
    # Thunderbird, when a server's host or user changes through its own API, moves the saved password and
    # rewrites the folder URIs in identities, junk settings and filters (migrateServerUris in
    # mailnews/base/src/MsgIncomingServer.sys.mjs). The prefs.js part is in the plan; logins.json and the moved
    # servers' msgFilterRules.dat are read here, in one more batch (as the user), and rewritten the same way.

    def _migrate_files(self, failures):
        followups, self._followups = self._followups, []
        items = []
        max_size = self._args["max_file_size"]
        for item, plan, prefs_js, _entry in followups:
            if item["user"] in failures:
                continue
            path = item["profile"]["path"]
            wanted = [self.join(path, "logins.json")]
            for move in plan.moves:
                directory = server_directory(prefs_js, move.key, path) if move.kind == "incoming" else None
                if directory is not None:
                    wanted.append(self.join(path, *directory.split("/"), "msgFilterRules.dat"))
            item["followup_paths"] = wanted
            items += [
                {"path": p, "follow": True, "read": True, "run_as": item["user"], "max_size": max_size} for p in wanted
            ]
        seen = self.deployer.inspect(items) if items else {}
        for item, plan, _prefs_js, entry in followups:
            user = item["user"]
            if user in failures:
                continue
            path = item["profile"]["path"]
            where = f" (user {user}, profile {path})"
            try:
                for target in item["followup_paths"]:
                    found = seen[target]
                    problem = refusal(found, user)
                    if problem is not None:
                        raise ThunderbirdError(problem)
                    if not found["exists"]:
                        continue
                    old = self._text(found["content"])
                    if target.endswith("logins.json"):
                        new, _moved, warnings = migrate_logins(old, plan.moves, plan.origins_in_use, where)
                        self.warnings.extend(warnings)
                        label, shown = "saved passwords follow the moved servers", logins_summary
                    else:
                        new = migrate_filter_rules(old, [m for m in plan.moves if m.kind == "incoming"])
                        label, shown = "filter folders follow the moved server", None
                    if new is not None:
                        entry["files"].append(
                            self._write(
                                target,
                                new,
                                item["owner"],
                                item["group"],
                                None,
                                label,
                                user,
                                expected_version(found),
                                shown,
                            )
                        )
            except ThunderbirdError as exc:
                failures[user] = str(exc)

    # -- enterprise AutoConfig and autoconfig XML ------------------------------------------------

    def _need_dest(self):
        if not self._args["dest"]:
            raise RendererError(f"output {self._args['output']} needs dest", field="dest")
        return self.expand(self._args["dest"], None, "dest")

    def _enterprise(self):
        dest = self._need_dest()
        if self._args["state"] == "absent":
            return self._enterprise_absent(dest)
        files = render_enterprise(present(self._args["accounts"]), self._args["options"])
        mode = self._args["mode"] if self._args["mode"] is not None else "0644"
        owner, group = self._args["owner"], self._args["group"]
        written = []
        pref_dir = self.join(dest, "defaults", "pref")
        self._mkdir(pref_dir, owner, group, "0755")
        for name in sorted(files):
            target = self.join(pref_dir, name) if name == "autoconfig.js" else self.join(dest, name)
            written.append(self._write(target, files[name], owner, group, mode, "AutoConfig"))
        self._flush()
        return {"files": written, "removed": []}

    def _enterprise_absent(self, dest):
        """Remove the two enterprise files when they are ours, and only together: ``autoconfig.js`` makes Thunderbird
        load the ``.cfg`` it names and refuse to start when that file is missing ("Failed to read the configuration
        file", extensions/pref/autoconfig/src/nsReadConfig.cpp in Mozilla's code).

        ``autoconfig.js`` is ours when its bytes are the bootstrap this renderer writes for that ``cfg_name``; the
        ``.cfg`` when its first line is the one this renderer writes (there is no manifest of the installation
        directory: the first line is its marker). Each is removed only while it holds the bytes read here.
        """
        empty = render_enterprise([], self._args["options"])  # also checks cfg_name
        cfg_name = next(name for name in empty if name != "autoconfig.js")
        paths = {
            "defaults/pref/autoconfig.js": self.join(dest, "defaults", "pref", "autoconfig.js"),
            cfg_name: self.join(dest, cfg_name),
        }
        seen = self.deployer.read(dict.fromkeys(paths.values()))
        found = {}
        for rel, path in paths.items():
            problem = refusal(seen[path])
            if problem is not None:
                raise RendererError(problem, field="dest")
            found[rel] = seen[path]["content"] if seen[path]["exists"] else None
        bootstrap, cfg = found["defaults/pref/autoconfig.js"], found[cfg_name]
        marker = empty[cfg_name].split("\n", 1)[0].encode("utf-8")
        bootstrap_ours = bootstrap == empty["autoconfig.js"].encode("utf-8")
        cfg_ours = cfg is not None and cfg.split(b"\n", 1)[0].rstrip(b"\r") == marker
        remove = []
        if bootstrap_ours and cfg is not None and not cfg_ours:
            self.warnings.append(
                f"left {paths['defaults/pref/autoconfig.js']} and {paths[cfg_name]}: the .cfg it loads does not start "
                "with the line mailops.clients writes; remove both by hand when they are no longer needed"
            )
        elif bootstrap_ours:
            remove.append("defaults/pref/autoconfig.js")
        if cfg_ours and (bootstrap is None or bootstrap_ours):
            remove.append(cfg_name)
        elif cfg_ours:
            self.warnings.append(
                f"left {paths[cfg_name]}: {paths['defaults/pref/autoconfig.js']} is not the one mailops.clients writes "
                "and may load it; remove both by hand when they are no longer needed"
            )
        removals = [
            removal_spec(paths[rel], expect_sha256=sha256(found[rel]), backup=self._args["backup"]) for rel in remove
        ]
        self._flush(removals)
        removed = []
        for rel, done in zip(remove, self._removals_done):
            if done.get("changed"):
                self._changed = True
                removed.append({"path": rel, "dest": paths[rel], "accounts": []})
                if self._task.diff:
                    self.diffs.append(
                        {
                            "before_header": paths[rel],
                            "after_header": "(absent)",
                            "before": "(written by mailops.clients: enterprise AutoConfig)\n",
                            "after": "",
                        }
                    )
            elif done.get("kept"):
                self.warnings.append(f"left {paths[rel]}: it changed while this task ran ({done['kept']})")
        return {"files": [], "removed": removed}

    def _autoconfig_xml(self):
        dest = self._need_dest()
        docs, warnings = render_autoconfig_xml(present(self._args["accounts"]), self._args["options"])
        self.warnings.extend(warnings)
        mode = self._args["mode"] if self._args["mode"] is not None else "0644"
        owner, group = self._args["owner"], self._args["group"]
        written = []
        # what was written under dest before (its manifest, plugin_utils/_manifest.py) and is not now (a domain
        # without accounts) is removed while unchanged
        template = self._args["xml_filename"]
        names = {domain: template.replace("{domain}", domain) for domain in docs}
        depth = template.count("/") + 1
        manifest = None
        if "{domain}" in template and all(relative_name(name, depth) for name in names.values()):
            pattern = re.compile(
                "^" + r"[A-Za-z0-9.-]+".join(re.escape(part) for part in template.split("{domain}")) + "$"
            )
            manifest = Manifest(dest, "thunderbird_autoconfig", lambda name: bool(pattern.match(name)), depth=depth)
            entry = self.deployer.read({manifest.path: None}, MANIFEST_MAX_SIZE)[manifest.path]
            problem = refusal(entry)
            if problem is not None:
                raise RendererError(problem, field="dest")
            self.warnings.extend(manifest.load(entry))
        for domain in sorted(docs):
            rel = names[domain]
            target = self.join(dest, rel)
            directory = target.rsplit("/", 1)[0]
            self._mkdir(directory, owner, group, "0755")
            entry = self._write(target, docs[domain].decode("utf-8"), owner, group, mode, "autoconfig")
            entry["domain"] = domain
            written.append(entry)
            if manifest is not None:
                ids = [a["id"] for a in self._args["accounts"] if a["domain"] == domain]
                manifest.record(rel, docs[domain], ids)
        removals = []
        if manifest is not None:
            removals = manifest.removals(self._args["backup"])
            spec = manifest.spec(owner, group)
            if spec is not None:
                self._files.append(({"path": spec["path"], "changed": False}, "manifest", spec))
        self._flush(removals)
        removed = []
        if manifest is not None:
            gone, warnings = manifest.outcome(self._removals_done)
            self.warnings.extend(warnings)
            self._changed = self._changed or any(done["changed"] for done in self._removals_done)
            removed = [{"path": entry["file"], "dest": entry["path"], "accounts": entry["accounts"]} for entry in gone]
        return {"files": written, "removed": removed}
