# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The attributes of the round-trip modules, mail_roundtrip and its batch form mail_roundtrips (one engine,
    # plugins/module_utils/_roundtrip.py). Use it after the action_common_attributes fragment, which describes them.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    details: In check mode no message is sent and no mailbox is opened.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""
