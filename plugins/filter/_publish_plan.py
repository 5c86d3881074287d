# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: _publish_plan
short_description: The domain plan of the publish role, through the verify gate
version_added: 0.1.0
description:
  - B(Private to the mailops.clients.publish role, not a public interface); its options and result may change in
    any release without a deprecation period.
  - Each domain of C(mailops_publish_domains) whose servers all verified (the verify gate of every renderer) with
    its servers in preference order; the others are in RV(_value.refused) with the gate's message.
options:
  _input:
    description: C(mailops_publish_domains).
    type: dict
    required: true
  servers:
    description: C(mailops_servers).
    type: dict
    required: true
  verified:
    description: The C(mailops_verified) fact of the verify role (null when it did not run).
    type: dict
  allow_unverified:
    description: Publish unverified domains with a warning.
    type: bool
    default: false
  fail_on:
    description: The worst endpoint verdict that still publishes is below this one.
    type: str
    choices: [error, warning]
    default: error
  autodiscover_host:
    description: Default C(autodiscover_host) of each domain; C({domain}) is replaced by the domain.
    type: str
"""

EXAMPLES = r"""
- name: Plan the domains whose servers verified without a warning either
  ansible.builtin.set_fact:
    plan: >-
      {{ mailops_publish_domains | mailops.clients._publish_plan(mailops_servers, verified=mailops_verified,
         fail_on="warning") }}
"""

RETURN = r"""
_value:
  description: The plan and what the gate refused.
  type: dict
  contains:
    domains:
      description: "The domain plan, C({domain: {username, display_name, incoming, outgoing, autodiscover_host}})."
      type: dict
    refused:
      description: Domain -> why it is not published.
      type: dict
    warnings:
      description: Warnings of the gate.
      type: list
      elements: str
"""

from ansible.module_utils.parsing.convert_bool import boolean  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._filter import filter_errors  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._publish import PublishError, plan_domains  # noqa: E402


def publish_plan(domains, servers, verified=None, allow_unverified=False, fail_on="error", autodiscover_host=None):
    with filter_errors(None, PublishError):
        return plan_domains(
            domains,
            servers,
            verified,
            allow_unverified=boolean(allow_unverified, strict=False),
            fail_on=fail_on,
            autodiscover_host=autodiscover_host or None,
        )


class FilterModule:
    def filters(self):
        return {"_publish_plan": publish_plan}
