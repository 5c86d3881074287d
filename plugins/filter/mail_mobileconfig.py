# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: mail_mobileconfig
short_description: Render Apple Mail configuration profiles (.mobileconfig) from normalized accounts
version_added: 0.1.0
description:
  - Formerly C(mailops.clients.mobileconfig); that name is a deprecated alias of this filter and will be removed
    in 1.0.0.
  - Turns a host's normalized accounts (P(mailops.clients.mail_accounts_normalize#filter)) into Apple configuration
    profiles with one C(com.apple.mail.managed) payload per account, one profile per user or per account.
  - The content is an XML property list made by Python's C(plistlib) with sorted keys; identifiers are stable
    and every C(PayloadUUID) is a UUIDv5 of its identifier, so the same input always gives the same bytes.
  - Unsigned. To sign, and to write files with backups, check mode and diff mode, use the
    P(mailops.clients.apple_mail#role) role or the M(mailops.clients.apple_mail_profiles) action.
  - Fails for an account whose authentication cannot be expressed (V(oauth2), V(gssapi)) unless
    O(unsupported=skip).
extends_documentation_fragment: mailops.clients._accounts
options:
  identifier_prefix:
    description: Reverse-DNS prefix of every C(PayloadIdentifier); the user and account are appended.
    type: str
    default: local.mailops.mail
  group_by:
    description: One profile per V(user) (all their accounts) or per V(account).
    type: str
    choices: [user, account]
    default: user
  default_user:
    description: User for accounts without C(user).
    type: str
  display_name:
    description: C(PayloadDisplayName) of a profile; placeholders C({user}), C({emails}), C({count}).
    type: str
    default: "Mail: {emails}"
  description:
    description: C(PayloadDescription) of a profile, same placeholders; left out when not set.
    type: str
  organization:
    description: C(PayloadOrganization) of the profile and its payloads.
    type: str
  scope:
    description: C(PayloadScope) (macOS only; mail payloads install in the user channel).
    type: str
    choices: [User, System]
    default: User
  removal_disallowed:
    description: C(PayloadRemovalDisallowed); left out when not set.
    type: bool
  target_device_type:
    description: C(TargetDeviceType) (V(0) any, V(1) iPhone/iPad, V(5) Mac, V(6) Vision Pro).
    type: int
    choices: [0, 1, 5, 6]
  consent_text:
    description: C(ConsentText), language tag to text.
    type: dict
  include_passwords:
    description: Write each account's inventory password (per-account C(include_password) wins).
    type: bool
    default: false
  starttls_use_ssl:
    description: C(*UseSSL) for STARTTLS endpoints (V(true) makes TLS mandatory; see docs/apple_mail.md).
    type: bool
    default: true
  unsupported:
    description: What to do with an account whose authentication Apple cannot express.
    type: str
    choices: [fail, skip]
    default: fail
  account_defaults:
    description: Apple options for every account (same keys as O(account_options)).
    type: dict
    default: {}
  account_options:
    description:
      - Apple options per account id (or email) - C(include_password), C(description), C(imap_path_prefix),
        C(prevent_move), C(prevent_app_sheet), C(allow_mail_drop), C(disable_mail_recents_syncing),
        C(outgoing_password_same_as_incoming), C(vpn_uuid), C(smime) (a dictionary).
    type: dict
    default: {}
  content:
    description: Include the profile text (RV(_value[].content)); V(false) gives only the summaries.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Profiles for this host's accounts
  ansible.builtin.set_fact:
    profiles: >-
      {{ accounts | mailops.clients.mail_mobileconfig(identifier_prefix='com.example.mail', organization='Example') }}

- name: Serve them from a web server (application/x-apple-aspen-config)
  ansible.builtin.copy:
    content: "{{ item.content }}"
    dest: "/srv/www/profiles/{{ item.filename }}"
    mode: "0644"
  loop: "{{ profiles }}"
  loop_control:
    label: "{{ item.filename }}"
"""

RETURN = r"""
_value:
  description: One entry per profile, in order of first appearance of its user or account.
  type: list
  elements: dict
  contains:
    name:
      description: File name without extension (the user, or user and account).
      type: str
    filename:
      description: O(name) plus C(.mobileconfig).
      type: str
    user:
      description: The user of the accounts (or O(default_user)).
      type: str
    identifier:
      description: The profile's C(PayloadIdentifier).
      type: str
    uuid:
      description: The profile's C(PayloadUUID).
      type: str
    accounts:
      description: Ids of the accounts in the profile.
      type: list
      elements: str
    contains_password:
      description: Whether the content holds a password (then keep it private).
      type: bool
    warnings:
      description: What the caller should tell the user (passwords in clear text, ignored keys).
      type: list
      elements: str
    content:
      description: The XML property list; only with O(content=true).
      type: str
"""

from ansible_collections.mailops.clients.plugins.plugin_utils._apple import (  # noqa: E402
    AppleProfileError,
    render_profiles,
)
from ansible_collections.mailops.clients.plugins.plugin_utils._filter import filter_errors  # noqa: E402


def mail_mobileconfig(accounts, content=True, **options):
    with filter_errors("mail_mobileconfig", AppleProfileError, accounts=True):
        rendered = render_profiles(list(accounts or []), options)
    result = []
    for profile in rendered.profiles:
        item = profile.summary()
        item["warnings"] = list(profile.warnings)
        if content:
            item["content"] = profile.plist().decode("utf-8")
        result.append(item)
    return result


class FilterModule:
    def filters(self):
        return {"mail_mobileconfig": mail_mobileconfig}
