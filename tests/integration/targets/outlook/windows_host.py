# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The outlook role on a Windows host, up to what tasks/windows.yml would apply.

The host is Windows by its gathered os_family; the run skips the tag mailops_outlook_windows, because
tasks/windows.yml needs ansible.windows and a Windows host. A task after the role shows what the role's
outlook_profiles task returned (``__outlook_result``).
"""

from __future__ import annotations

SKIP_APPLYING = ["--skip-tags", "mailops_outlook_windows"]

_PLAY = """
- hosts: all
  gather_facts: false
  vars:
    ansible_facts: {{os_family: Windows}}
  roles:
    - role: mailops.clients.outlook
  tasks:
    - name: What the role's outlook_profiles task returned for a Windows host
      ansible.builtin.debug:
        msg: {message}
"""


def windows_host_play(message: str) -> str:
    """The play; ``message`` is the debug task's msg, a quoted YAML scalar."""
    return _PLAY.format(message=message)
