# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: mail_outlook_windows
short_description: What the outlook role applies on a Windows host (win_copy files, win_regedit items)
version_added: 0.1.0
description:
  - Formerly C(mailops.clients.outlook_windows); that name is a deprecated alias of this filter and will be removed
    in 1.0.0.
  - Renders a host's normalized accounts for classic Outlook (the same rendering as
    M(mailops.clients.outlook_profiles)) and returns what the P(mailops.clients.outlook#role) role applies on a
    Windows host with C(ansible.windows.win_copy) and C(ansible.windows.win_regedit).
  - The registry items are the values of the C(.reg) files, with C(HKCU:\) paths and win_regedit type names.
options:
  _input:
    description: Normalized accounts (P(mailops.clients.mail_accounts_normalize#filter)).
    type: list
    elements: dict
    required: true
  options:
    description: Rendering options, as O(mailops.clients.outlook_profiles#module:options).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Registry values the role would set on a Windows client
  ansible.builtin.debug:
    msg: "{{ (accounts | mailops.clients.mail_outlook_windows({'prf': true})).registry }}"
"""

RETURN = r"""
_value:
  description: Files and registry items.
  type: dict
  contains:
    files:
      description: One per Autodiscover XML and PRF file.
      type: list
      elements: dict
      contains:
        src:
          description: Path relative to the host's controller output directory.
          type: str
        dest:
          description: Windows path of the file.
          type: str
        dir:
          description: Windows directory of the file.
          type: str
        kind:
          description: V(autodiscover) or V(prf).
          type: str
        user:
          description: OS user the file is for (V(null) for accounts without a user).
          type: str
    registry:
      description: One per registry value.
      type: list
      elements: dict
      contains:
        path:
          description: Key, C(HKCU:\Software\...).
          type: str
        name:
          description: Value name.
          type: str
        type:
          description: V(string), V(dword) or V(binary) (V(null) when deleting).
          type: str
        data:
          description: The data; binary data as comma-separated hex bytes, as regedit exports it.
          type: raw
        state:
          description: V(present) or V(absent).
          type: str
        user:
          description: OS user whose C(HKEY_CURRENT_USER) gets the value.
          type: str
        mechanism:
          description: V(autodiscover), V(prf) or V(profile_registry).
          type: str
        on_prf_change:
          description: Apply only when the user's PRF file changed (C(ImportPRF) and the FirstRun reset).
          type: bool
"""

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._inventory import present  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._outlook import (  # noqa: E402
    OutlookError,
    RegFileError,
    render,
    windows_items,
)


def mail_outlook_windows(accounts, options=None):
    try:
        return windows_items(render(present(list(accounts or [])), dict(options or {})))
    except (OutlookError, RegFileError) as err:
        raise AnsibleFilterError(f"mail_outlook_windows: {err}") from None
    except (KeyError, TypeError) as err:
        raise AnsibleFilterError(
            f"mail_outlook_windows expects normalized accounts (mail_accounts_normalize): missing {err}"
        ) from None


class FilterModule:
    def filters(self):
        return {"mail_outlook_windows": mail_outlook_windows}
