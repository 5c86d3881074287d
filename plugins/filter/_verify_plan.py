# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: _verify_plan
short_description: The probe calls the verify role makes for a fleet
version_added: 0.1.0
description:
  - Formerly C(mailops.clients.mail_verify_plan); that name is a deprecated alias and will be removed in 1.0.0.
  - Turns a normalized fleet into one validation module call per unique endpoint (one more per additional
    authentication mechanism its accounts use), with the credentials to check batched into the module's
    C(accounts) option, and marks the calls whose result is still fresh in the controller cache.
extends_documentation_fragment: [mailops.clients._verify, mailops.clients._verify.plan]
options:
  _input:
    description: Normalized fleet (P(mailops.clients.mail_inventory_normalize#filter)).
    type: dict
    required: true
  credentials:
    description: Check each account's credentials (those with a password and password authentication).
    type: bool
    default: false
  secret:
    description: Key of the HMAC that folds passwords into the cache key (required with O(ttl) and O(credentials)).
    type: str
"""

EXAMPLES = r"""
- name: Plan the probes
  ansible.builtin.set_fact:
    probes: "{{ fleet | mailops.clients._verify_plan(credentials=true, options={'timeout': 10}) }}"
  run_once: true
  no_log: true
"""

RETURN = r"""
_value:
  description:
    - One item per module call, C(key), C(protocol), C(host), C(port), C(security), C(auth_mechanism),
      C(options), C(accounts) (the module's C(accounts) option, with passwords), C(refs), C(users),
      C(cache_key), C(cached) (a fresh cache entry or V(null)).
  type: list
  elements: dict
"""

from ansible.module_utils.parsing.convert_bool import boolean  # noqa: E402
from ansible.utils.display import Display  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._filter import VERIFY, filter_errors, plan_settings  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import (  # noqa: E402
    VerifyError,
    plan,
    unmatched_overrides,
)


def verify_plan(fleet, credentials=False, options=None, endpoint_options=None, cache=None, ttl=0, now=0, secret=None):
    settings = plan_settings(options, endpoint_options, cache, ttl, now, secret)
    with filter_errors(VERIFY, VerifyError):
        probes = plan(fleet or {}, credentials=boolean(credentials, strict=False), **settings)
        for warning in unmatched_overrides(settings["endpoint_options"], probes):
            Display().warning(warning)
    return probes


class FilterModule:
    def filters(self):
        return {"_verify_plan": verify_plan}
