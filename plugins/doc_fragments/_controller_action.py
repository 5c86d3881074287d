# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # What the action plugins that do all their work on the controller, with no module on the target
    # (mail_settings_info, mail_srv_records), share: how far they support the attributes that the
    # action_common_attributes and action_common_attributes.flow fragments describe (use it after them). check_mode
    # and diff_mode differ per plugin and are documented by each. The renderers, which write through a module on the
    # target, state their support in the _renderer fragment.
    DOCUMENTATION = r"""
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: posix
"""
