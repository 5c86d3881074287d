# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # How far every action plugin of the collection supports the attributes that the action_common_attributes and
    # action_common_attributes.flow fragments describe (use it after them): the action does the work on the
    # controller, once per host, synchronously. check_mode and diff_mode differ per plugin and are documented by
    # each (the renderers: the _renderer fragment, which starts with this one).
    DOCUMENTATION = r"""
attributes:
  action: {support: full}
  async: {support: none}
  bypass_host_loop: {support: none}
  platform: {platforms: posix}
"""
