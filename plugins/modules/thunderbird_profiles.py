# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: thunderbird_profiles
short_description: Write Thunderbird account configuration (profile prefs, enterprise AutoConfig, autoconfig XML)
version_added: 0.1.0
extends_documentation_fragment:
  [action_common_attributes, action_common_attributes.files, action_common_attributes.flow, mailops.clients._renderer]
description:
  - Renders normalized accounts (P(mailops.clients.mail_accounts_normalize#filter)) for Mozilla Thunderbird and
    writes the result on the target. Rendering runs on the controller; the target is read and written in
    batches (atomic replace, optional backup).
  - O(output=profiles) finds each user's profile through C(profiles.ini) under O(profiles_root) and manages a
    delimited block in the profile's C(user.js) (accounts, incoming servers, identities, SMTP servers, default
    account, C(mailnews.tcptimeout), POP3 leave-on-server settings, check interval). The user's own lines in
    C(user.js) are kept. Account keys (C(accountN), C(serverN), C(idN), C(smtpN), N from 1000) never collide
    with keys already in C(prefs.js) or C(user.js) and stay fixed across runs.
  - The account and SMTP server lists (C(mail.accountmanager.accounts), C(mail.smtpservers)) are merged in
    C(prefs.js) so accounts the user made by hand stay. Accounts that left the inventory are removed from the
    block and from C(prefs.js) (every pref Thunderbird copied there for them); accounts made by hand are never
    changed. C(prefs.js) is only edited while Thunderbird is not running with the profile (see O(when_running)).
  - An account with C(state=absent) is removed the same way (only accounts carrying the collection's marker for
    its id); its user's profile is visited without O(users). An account with C(previous_email) keeps the keys of
    the account of its old address (a rename); otherwise a changed address is a removal plus a new account with
    new keys.
  - When a kept account's incoming or outgoing host or login name changes (a server move), the keys stay and what
    Thunderbird would migrate itself follows the server, written as the profile's user - the identity's Sent,
    Drafts, Archives and Templates folder URIs and the junk target in C(prefs.js), the filter actions in the
    server's C(msgFilterRules.dat), and the origin and realm of its saved passwords in C(logins.json) (the
    encrypted fields are not touched; the diff shows origins only). A saved password that cannot be told apart
    (another server on the old host, or a changed login name, since C(logins.json) keeps user names encrypted) is
    left alone with a warning, as are prefs of hand-made accounts that point into the moved server. See
    C(docs/thunderbird.md), section Lifecycle.
  - O(output=enterprise) writes C(defaults/pref/autoconfig.js) and the C(.cfg) into the Thunderbird
    installation directory O(dest) (accounts as C(defaultPref) or C(lockPref) values, per user through the
    C(USER)/C(USERNAME) environment variable).
  - O(output=autoconfig_xml) writes one Mozilla autoconfig file (C(clientConfig) version 1.1) per mail domain
    into O(dest), for C(autoconfig.<domain>/mail/config-v1.1.xml) or Thunderbird's C(isp/) directory.
    A manifest in O(dest) (C(.mailops-clients-thunderbird_autoconfig.json)) records them; a file of a domain
    without accounts is removed while unchanged.
  - O(state=absent) removes what this collection wrote and writes nothing (host-level removal, C(docs/lifecycle.md)) -
    with O(output=profiles) every account of O(accounts) is absent (every marked account goes), with
    O(output=autoconfig_xml) every file the manifest lists, with O(output=enterprise) C(autoconfig.js) and the
    C(.cfg), together and only when they are ours (C(autoconfig.js) byte for byte the bootstrap this module
    writes for C(cfg_name), the C(.cfg) starting with its first line).
  - Passwords are never written (Thunderbird keeps them in its login manager, not in preferences).
  - Everything in a user's profile directory (C(profiles.ini), the profile, C(user.js), C(prefs.js)) is read and
    written by a process that has become that user, so the task can do nothing there that the user could not do
    (see M(mailops.clients.rendered_files) and the security guide, C(docs/security.md)). A profile that
    C(profiles.ini) places outside O(profiles_root) is refused. A hostile or broken file of one user (a profile
    outside the root, a file above O(max_file_size), a link into somewhere the user cannot write, two block
    markers, Thunderbird running with O(when_running=fail)) fails that user only - every other user is written,
    then the task fails and its message names each refused user, file and reason.
  - A C(user.js) or C(prefs.js) that changes between the read and the write (the user or Thunderbird saved it) is
    not overwritten - it is read and merged again, up to three times, then that user fails.
author:
  - mailops.clients contributors (@mailops)
options:
  accounts:
    description:
      - Normalized accounts, usually those the verify gate allowed. For O(output=profiles) each account goes into
        the profile of its C(user); accounts without a user are left out with a warning.
    type: list
    elements: dict
    required: true
  output:
    description: What to write.
    type: str
    choices: [profiles, enterprise, autoconfig_xml]
    default: profiles
  options:
    description:
      - Rendering options. C(default_account) (V(first), an account id or email, or empty to leave the choice to
        the user), C(login_at_startup) (default V(true)), C(pop3_delete_mail_left_on_server) (default V(true)),
        C(account_name_format) (default C({email}); also C({display_name}), C({id}), C({domain}),
        C(local_part)), C(extra_prefs) (more prefs for the block).
      - For O(output=enterprise) also C(cfg_name) (default C(mailops.cfg)), C(lock_accounts), C(prefs) (name to
        value, C(defaultPref)) and C(locked_prefs) (name to value, C(lockPref)).
      - For O(output=autoconfig_xml) also C(display_names) and C(short_names) (domain to text).
    type: dict
    default: {}
  users:
    description:
      - More users whose profiles are managed although no account names them, so that the accounts removed
        from the inventory also leave the profiles of users who have none left.
    type: list
    elements: str
    default: []
  profiles_root:
    description:
      - Directory holding C(profiles.ini); C({user}) is replaced by the user, a leading C(~user) is expanded on
        the target. Linux C(~{user}/.thunderbird), macOS C(~{user}/Library/Thunderbird).
    type: str
    default: ~{user}/.thunderbird
  profile:
    description:
      - Which profiles get the accounts. V(default) is the profile an C([Install...]) section of
        C(profiles.ini) names (or the one with C(Default=1), or the only one); V(all) every profile; any other
        value a profile name.
    type: str
    default: default
  create_profile:
    description:
      - When a user has no profile, create C(mailops.default) and a C(profiles.ini) that names it the default.
    type: bool
    default: false
  when_running:
    description:
      - What to do when Thunderbird runs with a profile (Linux C(lock) symlink pointing at a live process).
        V(fail), V(skip) the profile with a warning, or V(ignore) and write anyway.
    type: str
    choices: [fail, skip, ignore]
    default: fail
  dest:
    description:
      - O(output=enterprise) the Thunderbird installation directory (for example C(/usr/lib/thunderbird)).
      - O(output=autoconfig_xml) the directory for the XML files.
    type: str
  xml_filename:
    description: File name (may contain directories) of each XML file below O(dest); C({domain}) is the domain.
    type: str
    default: "{domain}.xml"
  owner:
    description: Owner of the written files and created directories; C({user}) is replaced by the profile's user.
    type: str
  group:
    description: Group of the written files and created directories; C({user}) as for O(owner).
    type: str
  mode:
    description: Mode of written files; default V(0600) for profile files, V(0644) for the others.
    type: raw
  dir_mode:
    description: Mode of profile directories the action creates.
    type: raw
    default: "0700"
  state:
    description:
      - V(present) writes the accounts; V(absent) removes what this collection wrote for O(output) and renders
        nothing (no account needs to verify then).
    type: str
    choices: [present, absent]
    default: present
  max_file_size:
    description:
      - With O(output=profiles), a C(profiles.ini), C(user.js) or C(prefs.js) larger than this many bytes is not
        read; its user fails with a message. Thunderbird's own files stay far below the default of 16 MiB.
    type: int
    default: 16777216
seealso:
  - module: ansible.builtin.copy
notes:
  - Thunderbird identifies incoming servers by user@host and ignores the port; two accounts of one profile that
    differ only in the port are refused.
"""

EXAMPLES = r"""
- name: Accounts into each user's default Thunderbird profile
  mailops.clients.thunderbird_profiles:
    accounts: "{{ mailops_accounts | mailops.clients.mail_accounts_normalize(mailops_servers, host=inventory_hostname)
      }}"
    gate:
      verified: "{{ mailops_verified }}"
      client: thunderbird
    options:
      default_account: first
    owner: "{user}"
    backup: true
  become: true

- name: Autoconfig files for the web server, on the controller, after the verify role's gate (tasks_from=gate)
  mailops.clients.thunderbird_profiles:
    accounts: "{{ mailops_verify_gate.allowed }}"
    gate:
      verified: "{{ mailops_verified }}"
      client: thunderbird
    output: autoconfig_xml
    dest: /srv/autoconfig
    xml_filename: "{domain}/mail/config-v1.1.xml"
  delegate_to: localhost

- name: Remove the enterprise AutoConfig this collection wrote (the host no longer uses Thunderbird)
  mailops.clients.thunderbird_profiles:
    accounts: []
    output: enterprise
    dest: /usr/lib/thunderbird
    state: absent
    backup: true
  become: true
"""

RETURN = r"""
profiles:
  description: With O(output=profiles), one entry per user and profile.
  returned: when O(output=profiles)
  type: list
  elements: dict
  contains:
    user:
      description: The user.
      type: str
    profile:
      description: Profile name from C(profiles.ini).
      type: str
    path:
      description: Profile directory.
      type: str
    accounts:
      description: Account id to its keys (C(account), C(server), C(id), C(smtp)).
      type: dict
      sample:
        alice@example.test: {account: account1000, server: server1000, id: id1000, smtp: smtp1000}
    removed:
      description: Ids of accounts removed from the profile.
      type: list
      elements: str
    renamed:
      description: New account id to the old id whose keys it kept (C(previous_email)).
      type: dict
      sample: {new@example.test: old@example.test}
    moved:
      description: Servers whose host or login name changed (C(id), C(key), C(from), C(to)).
      type: list
      elements: dict
      sample:
        - {id: alice@example.test, key: server1000, from: imap://alice@example.test@old.example.test,
           to: imap://alice@example.test@new.example.test}
    created:
      description: Whether the profile was created.
      type: bool
    skipped:
      description: Why the profile was left alone (C(no profile), C(running), C(missing directory)).
      type: str
      returned: when skipped
    files:
      description: Written files (C(path), C(changed), C(backup_file)).
      type: list
      elements: dict
    changed:
      description: Whether anything of this profile changed.
      type: bool
    failed:
      description: The user was refused; nothing of this user was written (one entry for the user, no profile).
      type: bool
      returned: when the user failed
    msg:
      description: Why the user was refused (the file and the reason).
      type: str
      returned: when the user failed
      sample: "/home/bob/.thunderbird/profiles.ini line 7: Path='/etc' points outside /home/bob/.thunderbird; ..."
skipped_accounts:
  description: Ids of accounts without a user (not written into any profile).
  returned: when O(output=profiles)
  type: list
  elements: str
files:
  description:
    - With O(output=enterprise) or O(output=autoconfig_xml), the files written (C(path), C(changed), C(domain)).
    - Empty with O(state=absent).
  returned: when O(output) is not V(profiles)
  type: list
  elements: dict
removed:
  description:
    - With O(output=enterprise) or O(output=autoconfig_xml), the files removed (or that would be, in check mode).
    - C(path) relative to O(dest), C(dest) the full path, C(accounts) the ids the file was written for (empty for
      the enterprise files, which keep no manifest).
  returned: when O(output) is not V(profiles)
  type: list
  elements: dict
  sample:
    - {path: example.org/mail/config-v1.1.xml, dest: /srv/autoconfig/example.org/mail/config-v1.1.xml,
       accounts: [alice@example.org]}
"""
