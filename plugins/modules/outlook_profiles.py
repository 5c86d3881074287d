# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: outlook_profiles
short_description: Write classic Outlook (Office 16.0) Autodiscover XML, PRF and .reg files for mail accounts
version_added: 0.1.0
extends_documentation_fragment:
  [action_common_attributes, action_common_attributes.files, action_common_attributes.flow, mailops.clients._renderer]
description:
  - Renders a host's normalized accounts into the files that provision IMAP/POP3 accounts for classic Outlook for
    Windows (2016, 2019, 2021, 2024, Microsoft 365) and writes them below O(dest_dir), one directory per OS user
    (C(<user>/), C(shared/) for accounts without a user).
  - C(<user>/autodiscover/<domain>.xml) - a POX Autodiscover response per mail domain (with C(options.autodiscover)).
  - C(<user>/mailops-outlook.prf) - a PRF for C(outlook.exe /importprf) (with C(options.prf)).
  - C(<user>/mailops-outlook.reg) - every registry value for that user (Windows Registry Editor Version 5.00,
    UTF-16LE with BOM) for C(reg import), Group Policy Preferences or Intune; it refers to the other files by
    their Windows path below C(options.windows_dir).
  - C(<user>/mailops-outlook-remove.reg) - the values this module wrote before and no longer writes (accounts with
    C(state=absent) or gone from O(accounts), renames, server moves), deleted with C("name"=-); it keeps what it
    removed so that a later import still removes it. What was written before is read from the previous C(.reg)
    files in O(dest_dir) (of the accounts' users and of every user directory the manifest below lists), which
    must be byte for byte as this module wrote them.
  - Passwords are never written; Outlook keeps them encrypted per user with DPAPI, which cannot be produced
    elsewhere. Inventory passwords are ignored with one entry in RV(notes).
  - Rendering runs on the controller. The target only receives finished files, replaced atomically (optionally
    with a backup); a file whose bytes are unchanged is not rewritten. None of
    the files holds a secret, so diff mode shows their text. Use C(delegate_to=localhost) to write on the
    controller; Windows hosts get the files and registry values from the P(mailops.clients.outlook#role) role.
  - What was written under O(dest_dir) is recorded in C(<dest_dir>/.mailops-clients-outlook.json) (relative path,
    account ids and SHA-256 of each file). A file listed there and not written in this run (its accounts have
    C(state=absent), left the inventory or were renamed; a user or mail domain has no file any more) is removed,
    only while its bytes are still the ones written (else it is left with a warning), and listed in RV(removed).
    Directories are left in place. See C(docs/lifecycle.md).
author:
  - mailops.clients contributors (@mailops)
options:
  options:
    description:
      - Rendering options, the names of the P(mailops.clients.outlook#role) role variables without the
        C(mailops_outlook_) prefix - C(autodiscover), C(autodiscover_prefer_local_xml), C(autodiscover_exclude),
        C(autodiscover_policy_key), C(prf), C(prf_import), C(prf_default_profile), C(prf_overwrite_profile),
        C(prf_modify_default_profile), C(prf_backup_profile), C(profile_name), C(profile_registry),
        C(profile_registry_subkeys), C(windows_dir), C(default_user), C(unsupported).
    type: dict
    default: {}
  dest_dir:
    description: Directory on the target; the per-user directories are created below it.
    type: str
    required: true
  owner:
    description: Owner of the files and created directories.
    type: str
  group:
    description: Group of the files and created directories.
    type: str
  mode:
    description: Mode of the files (none holds a secret).
    type: raw
    default: "0644"
  windows_plan:
    description:
      - Return RV(windows), what to apply on a Windows host. The P(mailops.clients.outlook#role) role sets V(false)
        for a host that is not Windows - the role registers this result on every host, and the plan is most of it.
    type: bool
    default: true
    version_added: 0.2.0
seealso:
  - plugin: mailops.clients.mail_outlook_windows
    plugin_type: filter
  - module: ansible.builtin.copy
notes:
  - A PRF cannot remove an account from an Outlook profile, and accounts Outlook already created stay in it when
    their registry values are removed; RV(notes) says so when values were removed. Values under Outlook's own
    account keys (C(options.profile_registry)) are not deleted when their account is gone.
"""

EXAMPLES = r"""
- name: Outlook files for GPO/Intune hand-off, on the controller
  mailops.clients.outlook_profiles:
    accounts: "{{ mailops_accounts | mailops.clients.mail_accounts_normalize(mailops_servers, host=inventory_hostname)
      }}"
    gate:
      verified: "{{ mailops_verified }}"
      client: outlook
    options:
      prf: true
      windows_dir: 'C:\ProgramData\Example\Outlook'
    dest_dir: "/srv/outlook/{{ inventory_hostname }}"
    backup: true
  delegate_to: localhost
"""

RETURN = r"""
files:
  description: One entry per file, by user, then Autodiscover XML (by domain), PRF, .reg.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Path relative to O(dest_dir).
      type: str
      sample: alice/autodiscover/example.test.xml
    kind:
      description: V(autodiscover), V(prf), V(reg) or V(reg-remove).
      type: str
    user:
      description: OS user of the file (V(null) for accounts without a user).
      type: str
    windows_path:
      description: Where the file belongs on the Windows client (the registry refers to it); V(null) for C(.reg).
      type: str
      sample: C:\ProgramData\mailops.clients\outlook\alice\autodiscover\example.test.xml
    accounts:
      description: Ids of the accounts in the file.
      type: list
      elements: str
    dest:
      description: Path of the file on the target.
      type: str
    changed:
      description: Whether this file (or its directory or attributes) changed.
      type: bool
    backup_file:
      description: Path of the copy O(backup=true) kept of the replaced file.
      type: str
      returned: when a backup was made
registry:
  description:
    - Every registry value in the C(.reg) files - C(key), C(name), C(type), C(data) (binary data as hex), C(user).
  returned: always
  type: list
  elements: dict
removed_registry:
  description:
    - The registry values deleted by the C(mailops-outlook-remove.reg) files of users whose name is known - C(key),
      C(name), C(type) (V(delete)), C(data) (V(null)), C(user).
  returned: always
  type: list
  elements: dict
windows:
  description:
    - What the role applies on a Windows host, as P(mailops.clients.mail_outlook_windows#filter) returns it
      (C(files) for C(win_copy), C(registry) for C(win_regedit)).
  returned: when O(windows_plan=true)
  type: dict
removed:
  description: The files removed (or that would be, in check mode) because an earlier run wrote them and this did not.
  version_added: 0.2.0
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Where the file was, relative to O(dest_dir).
      type: str
      sample: bob/autodiscover/other.test.xml
    dest:
      description: Path of the removed file on the target.
      type: str
      sample: /srv/outlook/pc1/bob/autodiscover/other.test.xml
    accounts:
      description: Ids of the accounts the file was written for.
      type: list
      elements: str
      sample: [bob@other.test]
skipped_accounts:
  description:
    - Accounts left out of a mechanism (with C(options.unsupported=skip)) - C(id), C(mechanism), C(reason).
  returned: always
  type: list
  elements: dict
notes:
  description:
    - What was deliberately not written, such as inventory passwords (never written; Outlook protects them with
      DPAPI) and settings Outlook keeps elsewhere.
  returned: always
  type: list
  elements: str
"""
