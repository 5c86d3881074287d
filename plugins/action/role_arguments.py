# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of mailops.clients.role_arguments (documentation in plugins/modules/)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.mailops.clients.plugins.plugin_utils import _role_arguments as ra
from ansible_collections.mailops.clients.plugins.plugin_utils._compat import validate_task_args

ARGUMENT_SPEC = {"roles": {"type": "list", "elements": "str", "required": True}}


class ActionModule(ActionBase):
    _requires_connection = False

    # ActionBase's defaults: check mode supported (the check changes nothing), async not
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        unused_validation, args = validate_task_args(self, ARGUMENT_SPEC)
        try:
            specs = [(role, ra.argument_spec(role, field=f"roles[{i}]")) for i, role in enumerate(args["roles"])]
        except ra.RoleArgumentsError as exc:
            raise AnsibleActionFail(str(exc)) from None
        errors = {}
        for role, spec in specs:
            # as ansible-core's role check: the variables the specification names, templated
            values = self._templar.template({name: task_vars[name] for name in spec if name in task_vars})
            messages = ra.argument_errors(spec, values)
            if messages:
                errors[role] = messages
        result["changed"] = False
        result["roles"] = [role for role, unused in specs]
        result["argument_errors"] = errors
        if errors:
            result["failed"] = True
            result["msg"] = "\n".join(
                f"Validation of the variables of role {ra.COLLECTION}.{ra.short_name(role)} failed:\n"
                + "\n".join(messages)
                for role, messages in errors.items()
            )
        else:
            result["msg"] = "The variables passed the roles' argument specifications"
        return result
