# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # What the renderer action plugins (apple_mail_profiles, outlook_profiles, thunderbird_profiles) share:
    # they render on the controller, apply the verify gate (option gate) and write through
    # plugin_utils/_deploy.py, all in the one base plugin_utils/_renderer_action.py. Use it after the
    # action_common_attributes fragments, which describe these attributes (here one line each: how far each is
    # supported).
    DOCUMENTATION = r"""
attributes:
  action: {support: full}
  async: {support: none}
  bypass_host_loop: {support: none}
  check_mode: {support: full}
  diff_mode: {support: full}
  platform: {platforms: posix}
  safe_file_operations: {support: full}
  vault: {support: none}
notes:
  - This is an action plugin. All files of a task are read in one batch and written in one batch by
    M(mailops.clients.rendered_files) on the target; when the target is the controller itself (a C(local)
    connection without become, as with C(delegate_to=localhost)) the same code runs in the action, without a
    module.
  - An option the action does not know (also inside O(gate) and in O(options)) fails the task naming it, with the
    closest valid name for a near miss.
options:
  accounts:
    description:
      - The host's normalized accounts (P(mailops.clients.mail_accounts_normalize#filter)), usually those the
        verify gate allowed.
    type: list
    elements: dict
    required: true
  backup:
    description: Keep a timestamped copy of a file before replacing it.
    type: bool
    default: false
  dir_mode:
    description: Mode of directories the action creates.
    type: raw
    default: "0755"
  gate:
    description:
      - Apply the verify gate of P(mailops.clients.verify#role) before rendering - only accounts that verified in
        O(gate.verified) are rendered (both endpoints verified and, where the login was to be checked, it succeeded
        on both); the task fails with the gate's message naming every refused account and finding.
      - "Required in effect - omitted, nothing is rendered and the task fails with C(refusing to render without the
        verify gate: option gate is not set. ...). To render accounts that were not verified, say so with
        C(gate: {allow_unverified: true}) (rendered with the gate's message as a warning). The collection's roles
        always pass it."
    type: dict
    suboptions:
      verified:
        description: The C(mailops_verified) fact the verify role published (null - nothing verified).
        type: raw
      allow_unverified:
        description: Render refused accounts anyway, with the gate's message as a warning.
        type: bool
        default: false
      client:
        description: Client name used in the gate's messages.
        type: str
      fail_on:
        description: V(error) refuses endpoints with an error verdict, V(warning) also those with warnings.
        type: str
        default: error
        choices: [error, warning]
"""
