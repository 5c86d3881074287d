# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place for differences between the ansible-core versions the collection supports (2.16 to 2.19).

ansible-core before 2.19 renders a template whose result is None as an empty string: ``signing: "{{ x if y else
none }}"`` or ``verified: "{{ mailops_verified | default(none) }}"`` reach an action as ``""`` there, and as
``None`` from 2.19 on (data tagging and the new templating; see the ansible-core 2.19 porting guide, "Templating",
on ``None`` results). An empty string is no value for an option that is not a string, so the renderer actions read
``""`` as "not set" for such options on every core: the same task means the same on all of them.
"""

from __future__ import annotations

from collections.abc import Mapping

# Option types for which an empty string is a value of its own.
_STRING_TYPES = frozenset({"str", "path", "bytes", "bits", "jsonarg", "json"})


def none_for_empty_strings(args: Mapping, argument_spec: Mapping) -> dict:
    """``args`` with ``""`` replaced by None for every option (and sub-option) whose type is not a string type."""
    result = dict(args)
    for name, spec in argument_spec.items():
        if name not in result:
            continue
        value = result[name]
        kind = spec.get("type", "str")
        if isinstance(value, str) and value == "" and kind not in _STRING_TYPES:
            result[name] = None
        elif isinstance(value, Mapping) and spec.get("options") and kind == "dict":
            result[name] = none_for_empty_strings(value, spec["options"])
    return result


def validate_task_args(action, argument_spec: Mapping) -> tuple:
    """``ActionBase.validate_argument_spec`` over the task's arguments, read the same way on every core."""
    action._task.args = none_for_empty_strings(action._task.args, argument_spec)
    return action.validate_argument_spec(argument_spec=argument_spec)
