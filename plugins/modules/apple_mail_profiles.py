# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: apple_mail_profiles
short_description: Write Apple Mail configuration profiles (.mobileconfig), optionally signed
version_added: 0.1.0
extends_documentation_fragment:
  [action_common_attributes, action_common_attributes.files, action_common_attributes.flow, mailops.clients._renderer]
description:
  - Renders a host's normalized accounts into Apple configuration profiles (payload C(com.apple.mail.managed),
    see P(mailops.clients.mail_mobileconfig#filter)), optionally signs them (CMS SignedData, DER, the plist as
    attached content) and writes one file per profile into O(dest_dir) on the target.
  - Rendering and signing run on the controller (signing needs the Python package C(cryptography) there); the
    target only receives finished files. Use C(delegate_to=localhost) to write on the controller.
  - Idempotent. An unsigned file is rewritten only when its bytes differ. A signed file is rewritten only when
    the plist inside it differs, its certificates are not the configured signer and chain, or its signature no
    longer verifies; re-signing an unchanged plist would only change the signing time.
  - Files are replaced atomically (a temporary file, then a rename), optionally with a backup. Without O(mode) a
    profile that holds a password gets mode V(0600) (an existing file is tightened before its content changes),
    any other V(0644).
  - Diff mode shows the plist text with every password replaced by C(********) (C(******** \(changed\)) when it
    changed). Results, diffs and errors never contain a password.
  - What the action wrote into a directory is recorded beside the profiles in C(.mailops-clients-apple_mail.json)
    (file name, account ids, SHA-256 and C(PayloadIdentifier) of each profile; mode V(0600)). A profile listed
    there and not written in this run (its accounts have C(state=absent), left the inventory, were renamed, or
    moved to another profile) is removed, only while its bytes are still the ones written (else it is left with a
    warning). A removed profile is in RV(removed); give its C(identifier) to the MDM, which removes the profile
    from the devices. See C(docs/lifecycle.md).
  - With C({user}) in O(dest_dir) each user's directory is read and written as that user, its manifest included
    (untrusted input there); the users looked at are those of the profiles, of the absent accounts and O(users).
    With O(accounts=[]) every profile recorded in the manifest is removed (host-level removal).
author:
  - mailops.clients contributors (@mailops)
options:
  options:
    description:
      - Rendering options, the same names as the options of P(mailops.clients.mail_mobileconfig#filter)
        (C(identifier_prefix), C(group_by), C(default_user), C(display_name), C(description), C(organization),
        C(scope), C(removal_disallowed), C(target_device_type), C(consent_text), C(include_passwords),
        C(starttls_use_ssl), C(unsupported), C(account_defaults), C(account_options)).
    type: dict
    default: {}
  signing:
    description: Sign every profile with this certificate and key. Not set means unsigned profiles.
    type: dict
    suboptions:
      certificate:
        description: The signing certificate, PEM text.
        type: str
        required: true
      private_key:
        description: Its private key (RSA or EC), PEM text; keep it in a vault.
        type: str
        required: true
      private_key_passphrase:
        description: Passphrase of an encrypted O(signing.private_key).
        type: str
      chain:
        description: Intermediate certificates (PEM, one after the other) to embed so devices can build the chain.
        type: str
  dest_dir:
    description:
      - Directory on the target for the files (named C(<user>.mobileconfig) or C(<user>-<account>.mobileconfig)).
      - C({user}) is replaced by each profile's user; a leading C(~user) is expanded on the target.
    type: str
    required: true
  owner:
    description: Owner of the files and created directories; C({user}) is replaced by each profile's user.
    type: str
  group:
    description: Group of the files and created directories; C({user}) as for O(owner).
    type: str
  mode:
    description: Mode of the files. Default V(0600) for a profile with a password, else V(0644).
    type: raw
  create_dirs:
    description: Create missing directories (with O(owner), O(group), O(dir_mode)).
    type: bool
    default: true
  users:
    description:
      - With C({user}) in O(dest_dir), more users whose directory is looked at for profiles to remove (a user
        who has no account in O(accounts) any more, not even an absent one).
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  expiry_warn_days:
    description: Warn when the signing certificate expires within this many days (an expired one always warns).
    type: int
    default: 30
seealso:
  - plugin: mailops.clients.mail_mobileconfig
    plugin_type: filter
  - module: ansible.builtin.copy
notes:
  - Signing does not encrypt. A profile with passwords is readable by anyone who can read the file, signed or not.
"""

EXAMPLES = r"""
- name: Profiles for MDM upload, on the controller
  mailops.clients.apple_mail_profiles:
    accounts: "{{ mailops_accounts | mailops.clients.mail_accounts_normalize(mailops_servers, host=inventory_hostname)
      }}"
    gate:
      verified: "{{ mailops_verified }}"
      client: apple_mail
    options:
      identifier_prefix: com.example.mail
      organization: Example Ltd
    signing:
      certificate: "{{ lookup('ansible.builtin.file', 'files/profile-signer.pem') }}"
      private_key: "{{ vault_profile_signer_key }}"
    dest_dir: "/srv/profiles/{{ inventory_hostname }}"
    backup: true
  delegate_to: localhost

- name: A copy in each user's Library on the Mac, after the verify role's gate (tasks_from=gate)
  mailops.clients.apple_mail_profiles:
    accounts: "{{ mailops_verify_gate.allowed }}"
    gate:
      verified: "{{ mailops_verified }}"
      client: apple_mail
    dest_dir: "~{user}/Library/Application Support/mailops.clients"
    owner: "{user}"
    dir_mode: "0700"
  become: true
"""

RETURN = r"""
profiles:
  description: One entry per profile.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: File name without extension.
      type: str
      sample: alice
    filename:
      description: File name.
      type: str
      sample: alice.mobileconfig
    dest:
      description: Path of the file on the target.
      type: str
      sample: /srv/profiles/mac1/alice.mobileconfig
    user:
      description: User of the profile.
      type: str
      sample: alice
    identifier:
      description: C(PayloadIdentifier) of the profile.
      type: str
      sample: com.example.mail.alice
    uuid:
      description: C(PayloadUUID) of the profile.
      type: str
      sample: 17DD379B-C209-5049-972F-886748B7C073
    accounts:
      description: Ids of the accounts in the profile.
      type: list
      elements: str
      sample: [alice@example.test]
    contains_password:
      description: Whether the profile holds a password.
      type: bool
    signed:
      description: Whether the file is signed (O(signing) was given).
      type: bool
    mode:
      description: Mode the file was given.
      type: str
      sample: "0644"
    changed:
      description: Whether this file (or its directory or attributes) changed.
      type: bool
    backup_file:
      description: Backup of the replaced file, when O(backup=true) and a file was replaced.
      type: str
      returned: when a backup was made
removed:
  description:
    - The profiles removed from the target (or that would be, in check mode) because they were written by an
      earlier run and not now. An MDM removes each from the devices by its C(identifier).
  returned: always
  type: list
  elements: dict
  version_added: 0.2.0
  contains:
    identifier:
      description: C(PayloadIdentifier) of the removed profile.
      type: str
      sample: com.example.mail.bob
    file:
      description: File name.
      type: str
      sample: bob.mobileconfig
    path:
      description: Path of the removed file on the target.
      type: str
      sample: /srv/profiles/mac1/bob.mobileconfig
    user:
      description: User of the profile.
      type: str
      sample: bob
    accounts:
      description: Ids of the accounts the profile held when an earlier run wrote it.
      type: list
      elements: str
      sample: [bob@example.test]
skipped_accounts:
  description: Ids of accounts left out because their authentication cannot be expressed (with C(unsupported=skip)).
  returned: always
  type: list
  elements: str
"""
