# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one base of the renderer actions (apple_mail_profiles, outlook_profiles, thunderbird_profiles).

Modelled on community.crypto's ``plugins/plugin_utils/_action_module.py``: the base runs the task, a subclass
says only what differs (its options and ``render``). One run:

1. **Options.** A task option the action does not know (also inside ``gate`` and the other dict options with
   sub-options) is refused naming it, with "did you mean" for a near miss; then the argument spec, read the same
   way on every supported ansible-core (plugin_utils/_compat.py).
2. **Target.** ``check_target`` of the subclass may refuse a connection it cannot write through.
3. **The gate** (plugin_utils/_verified.py ``renderer_gate``): only accounts that verified are rendered; without
   ``gate`` nothing is, unless ``gate: {allow_unverified: true}`` says so.
4. **Render and deploy**: ``render(args, accounts)`` of the subclass reads and writes the target in batches
   through ``self.deployer`` (plugin_utils/_deploy.py) and returns its return values.
5. **One result shape**: ``changed``, the subclass's values, ``failed`` and ``msg`` when some users failed (the
   others were written), ``warnings`` (each once, in order: the gate's first), ``diff``.

Every `RendererError` (the one error type of plugin_utils/_renderer_error.py: it names the field and the fix)
fails the task with its message; nothing of a task that failed that way was written.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.mailops.clients.plugins.plugin_utils._compat import validate_task_args
from ansible_collections.mailops.clients.plugins.plugin_utils._deploy import Deployer
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_error import RendererError, check_names
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import (
    RENDERER_GATE_SPEC,
    VerifyError,
    renderer_gate,
)

USER_PLACEHOLDER = "{user}"

# The options every renderer has; a subclass adds its own in ``OPTIONS``.
COMMON_OPTIONS = {
    "accounts": {"type": "list", "elements": "dict", "required": True, "no_log": False},
    "options": {"type": "dict", "default": {}},
    "gate": RENDERER_GATE_SPEC,
}


def file_options(mode=None, dir_mode="0755") -> dict:
    """The options of written files (``owner``, ``group``, ``mode``, ``dir_mode``, ``backup``) with these defaults."""
    return {
        "owner": {"type": "str"},
        "group": {"type": "str"},
        "mode": {"type": "raw"} if mode is None else {"type": "raw", "default": mode},
        "dir_mode": {"type": "raw", "default": dir_mode},
        "backup": {"type": "bool", "default": False},
    }


def check_option_names(args, spec: dict, prefix: str = "") -> None:
    """Refuse unknown option names in ``args`` and in every dict option that has sub-options."""
    check_names(args, spec, prefix=prefix)
    for name, option in spec.items():
        value = args.get(name)
        if option.get("type") == "dict" and option.get("options") and isinstance(value, dict):
            check_option_names(value, option["options"], f"{prefix}{name}.")


class RendererAction(ActionBase):
    """Base of the renderer actions; subclasses set ``OPTIONS`` and implement ``render``."""

    TRANSFERS_FILES = True
    _requires_connection = True

    #: the subclass's own options (argument spec entries), besides COMMON_OPTIONS
    OPTIONS: dict = {}
    #: what a ``{user}`` template needs when there is no user, after "contains {user} but "
    NO_USER = "there is no user"

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        self.task_vars = task_vars or {}
        self.warnings: list = []
        self.diffs: list = []
        self.deployer = Deployer(self, self.task_vars)
        try:
            spec = dict(COMMON_OPTIONS, **self.OPTIONS)
            check_option_names(self._task.args, spec)
            _validation, args = validate_task_args(self, spec)
            args["options"] = args["options"] or {}  # options: "" (None) means no options, as when omitted
            self.check_target()
            accounts = self._gate(args)
            values = self.render(args, accounts)
        except RendererError as exc:
            raise AnsibleActionFail(str(exc)) from None
        finally:
            self.deployer.cleanup()
            self._forget_task_args()
        result["changed"] = bool(values.pop("changed", False))
        result.update(values)
        if self.warnings:
            result["warnings"] = list(dict.fromkeys(self.warnings))
        if self.diffs:
            result["diff"] = self.diffs
        return result

    def _forget_task_args(self) -> None:
        """Send none of this task's arguments back to the controller.

        The worker returns the task's templated arguments with every host's result, and the controller keeps all
        of them until the last host has finished the task: the host's accounts and its verified view, tens of MB
        at 1,000 hosts, and every forked worker shares those pages. Nothing reads them there (callbacks get the
        task's name and the result). A task with ``until``/``retries`` runs this action again with the same
        arguments, so they stay.
        """
        if not (self._task.until or self._task.retries):
            self._task.args = {}

    def _gate(self, args) -> list:
        try:
            accounts, warnings = renderer_gate(args["accounts"], args["gate"], self.task_vars.get("inventory_hostname"))
        except VerifyError as exc:
            raise RendererError(str(exc), field="gate") from None
        self.warnings.extend(warnings)
        return accounts

    # -- what a subclass provides ----------------------------------------------------------------------------

    def check_target(self) -> None:
        """Raise `RendererError` when the connection cannot carry this renderer's files."""

    def render(self, args: dict, accounts: list) -> dict:
        """Render ``accounts`` and deploy them; return the return values (``changed`` and the renderer's own).

        Warnings go to ``self.warnings``, diff entries to ``self.diffs``.
        """
        raise NotImplementedError

    # -- helpers for the subclasses --------------------------------------------------------------------------

    def join(self, *parts) -> str:
        return self._connection._shell.join_path(*parts)

    def expand(self, template, user, what: str, home: bool = True):
        """``template`` with ``{user}`` replaced and (with ``home``) a leading ``~user`` expanded on the target."""
        if template is None:
            return None
        if USER_PLACEHOLDER in template:
            if not user:
                raise RendererError(f"{what} {template!r} contains {USER_PLACEHOLDER} but {self.NO_USER}", field=what)
            template = template.replace(USER_PLACEHOLDER, user)
        if home and template.startswith("~"):
            expanded = self._remote_expand_user(template, sudoable=False)
            if expanded.startswith("~"):
                raise RendererError(
                    f"cannot find the home directory for {template.split('/', 1)[0]} on the target", field=what
                )
            template = expanded
        return template

    @staticmethod
    def failed_users(failures: dict) -> list:
        """The result entries of the users that failed, by name."""
        return [{"user": user, "changed": False, "failed": True, "msg": failures[user]} for user in sorted(failures)]
