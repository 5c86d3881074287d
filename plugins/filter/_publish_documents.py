# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: _publish_documents
short_description: The files the publish role serves for each planned domain
version_added: 0.1.0
description:
  - B(Private to the mailops.clients.publish role, not a public interface); its options and result may change in
    any release without a deprecation period.
  - Per domain of the plan the autoconfig document (at C(mail/config-v1.1.xml) and
    C(.well-known/autoconfig/mail/config-v1.1.xml)), the Apple profile C(mail/<domain>.mobileconfig) (signed with
    O(signing)) and the page C(mail/index.html) that offers it, base64 encoded for
    P(mailops.clients.rendered_files#module).
options:
  _input:
    description: The domain plan (RV(mailops.clients._publish_plan#filter:_value.domains)).
    type: dict
    required: true
  identifier_prefix:
    description: Reverse-DNS prefix of the profiles' PayloadIdentifiers.
    type: str
    default: local.mailops.publish
  organization:
    description: PayloadOrganization of the profiles.
    type: str
  signing:
    description: C(certificate), C(private_key), C(private_key_passphrase), C(chain) (PEM text); null - unsigned.
    type: dict
  existing:
    description: C(<domain>/mail/<domain>.mobileconfig) -> the base64 content published now (keeps a current signature).
    type: dict
"""

EXAMPLES = r"""
- name: Render the documents
  ansible.builtin.set_fact:
    files: "{{ plan.domains | mailops.clients._publish_documents(identifier_prefix='com.example.mail') }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: "C(files) (C({domain: {relative path: base64}})) and C(warnings)."
  type: dict
"""

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._publish import PublishError, render_documents  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._renderer_error import RendererError  # noqa: E402


def publish_documents(plan, identifier_prefix="local.mailops.publish", organization=None, signing=None, existing=None):
    try:
        return render_documents(
            dict(plan or {}),
            identifier_prefix=identifier_prefix or "local.mailops.publish",
            organization=organization or None,
            signing=signing or None,
            existing=existing or None,
        )
    except (PublishError, RendererError) as err:
        raise AnsibleFilterError(f"mailops.clients.publish: {err}") from None


class FilterModule:
    def filters(self):
        return {"_publish_documents": publish_documents}
