# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: role_arguments
short_description: Check a host's variables against the argument specifications of the collection's roles
version_added: 0.2.0
description:
  - Applies the argument specification (C(meta/argument_specs.yml)) of each named role of this collection to the
    host's variables, as ansible-core's own role argument check does when a role starts, and fails the host with
    the same messages when a variable has the wrong type, an unknown choice or a missing required value.
  - For fleets. ansible-core's check is a task whose arguments are the role's whole specification, and every
    host's result brings those arguments back to the controller, which keeps them until the last host is done.
    At 1,000 hosts this is most of the controller's memory, shared by every forked worker. Run this module once
    per host for all the roles a play runs, then import (or include) those roles with
    O(ansible.builtin.import_role#module:rolespec_validate=false). The C(mailops.clients.provision) and
    C(mailops.clients.verify) playbooks do this; see C(docs/fleet-scale.md).
  - Only the variables the host has are checked (inventory, play and extra variables, and the defaults of roles
    imported into the play); a default written in a specification is the role's own and is not checked. Role
    parameters are not seen; pass variables instead.
  - This is an action plugin; it runs on the controller.
author:
  - mailops.clients contributors (@mailops)
extends_documentation_fragment:
  [action_common_attributes, action_common_attributes.flow, mailops.clients._controller_action]
attributes:
  check_mode:
    support: full
    details: The check changes nothing and runs in check mode too.
  diff_mode:
    support: none
options:
  roles:
    description:
      - The roles whose C(main) entry point to check, by short name (V(verify)) or full name
        (V(mailops.clients.verify)); V(verify:gate) checks another entry point.
      - An unknown name fails with the list of the collection's roles.
    type: list
    elements: str
    required: true
seealso:
  - module: ansible.builtin.validate_argument_spec
  - module: ansible.builtin.import_role
notes:
  - The failure message starts with C(Validation of the variables of role mailops.clients.NAME failed:) followed by
    ansible-core's own messages, one per line.
"""

EXAMPLES = r"""
- name: Render Thunderbird profiles on a large fleet
  hosts: clients
  gather_facts: false
  tasks:
    - name: Check the variables of both roles once per host
      mailops.clients.role_arguments:
        roles: [verify, thunderbird]

    - name: Verify the mail settings
      ansible.builtin.import_role:
        name: mailops.clients.verify
        rolespec_validate: false

    - name: Render Thunderbird accounts
      ansible.builtin.import_role:
        name: mailops.clients.thunderbird
        rolespec_validate: false
"""

RETURN = r"""
roles:
  description: The roles checked, as given.
  returned: always
  type: list
  elements: str
  sample: [verify, thunderbird]
argument_errors:
  description: Per role that failed, ansible-core's messages; empty when every variable passed.
  returned: always
  type: dict
  sample:
    thunderbird:
      - "argument 'mailops_thunderbird_create_profile' is of type str and we were unable to convert to bool"
"""
