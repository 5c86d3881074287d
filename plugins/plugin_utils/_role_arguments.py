# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The argument specifications of the collection's roles (``roles/<name>/meta/argument_specs.yml``), read and
applied the way ansible-core's implicit role check applies them (``ArgumentSpecValidator`` over the variables the
specification names), for the ``role_arguments`` action.

Why not ansible-core's own check: it runs as a task inside the role whose arguments are the whole specification,
and every host's result carries those task arguments back to the controller, which keeps all of them until the
last host has finished the task. At 1,000 hosts that is the larger part of the controller's memory, and every
forked worker shares those pages. This action's only argument is the list of role names.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.mailops.clients.plugins.plugin_utils._values import did_you_mean

# <collection>/plugins/plugin_utils/<this file>: the roles are at <collection>/roles
ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
COLLECTION = "mailops.clients"


class RoleArgumentsError(ValueError):
    """A role name or entry point that the collection does not have, or a specification it cannot read."""


def role_names() -> list:
    """The collection's roles that have an argument specification, sorted."""
    return sorted(p.parent.parent.name for p in ROLES_DIR.glob("*/meta/argument_specs.yml"))


def short_name(role) -> str:
    """``thunderbird`` for ``thunderbird`` or ``mailops.clients.thunderbird``."""
    text = str(role)
    return text[len(COLLECTION) + 1 :] if text.startswith(COLLECTION + ".") else text


@functools.cache
def _specs(role: str) -> dict:
    path = ROLES_DIR / role / "meta" / "argument_specs.yml"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader, chosen by getattr
    except (OSError, yaml.YAMLError) as exc:
        raise RoleArgumentsError(
            f"cannot read the argument specification of role {COLLECTION}.{role} ({path}): {exc}"
        ) from None
    specs = (data or {}).get("argument_specs") if isinstance(data, dict) else None
    if not isinstance(specs, dict):
        raise RoleArgumentsError(f"{path} has no argument_specs mapping")
    return specs


def argument_spec(role, entry_point: str = "main", field: str = "roles") -> dict:
    """The ``options`` of one entry point of one role of the collection (a role name with or without
    ``mailops.clients.``, optionally ``role:entry_point``); RoleArgumentsError naming ``field`` and the fix."""
    name = short_name(role)
    if ":" in name:
        name, entry_point = name.split(":", 1)
    known = role_names()
    if name not in known:
        raise RoleArgumentsError(
            f"{field}: unknown role {str(role)!r}{did_you_mean(name, known)}. Fix: use the name of one of the "
            f"collection's roles: {', '.join(known)}."
        )
    specs = _specs(name)
    if entry_point not in specs:
        raise RoleArgumentsError(
            f"{field}: role {COLLECTION}.{name} has no entry point {entry_point!r}"
            f"{did_you_mean(entry_point, specs)}. Fix: use one of {', '.join(sorted(specs))}."
        )
    # A top-level default is the role's (defaults/main.yml sets it, sometimes as a template such as
    # "{{ ansible_limit is defined }}"); outside the role only the variables the host has are checked.
    options = specs[entry_point].get("options") or {}
    return {option: {k: v for k, v in spec.items() if k != "default"} for option, spec in options.items()}


def argument_errors(spec: dict, values: dict) -> list:
    """The error messages of ansible-core's role argument check for these values (the variables of the host that
    the specification names, templated)."""
    return list(ArgumentSpecValidator(spec).validate(values).error_messages)
