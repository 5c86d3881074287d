# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: _verify_roundtrip_plan
short_description: The round trips the verify role makes for a fleet
version_added: 0.1.0
description:
  - One round trip per account whose C(roundtrip) is true (P(mailops.clients._verify_roundtrip_select#filter)); an
    account listed on several hosts is tested once. Accounts without a password login, or whose probes already
    failed (an endpoint error, a login that did not succeed), get no round trip, with the reason.
extends_documentation_fragment: [mailops.clients._verify, mailops.clients._verify.plan]
options:
  _input:
    description: Normalized fleet, after P(mailops.clients._verify_roundtrip_select#filter).
    type: dict
    required: true
  verified:
    description: C(verified) of P(mailops.clients.mail_verify_merge#filter)'s result.
    type: dict
    required: true
  secret:
    description: Key of the HMAC that folds passwords into the cache key (required with O(ttl)).
    type: str
"""

EXAMPLES = r"""
- name: Plan the round trips
  ansible.builtin.set_fact:
    trips: "{{ fleet | mailops.clients._verify_roundtrip_plan(merged.verified, options={'timeout': 10}) }}"
  run_once: true
  no_log: true
"""

RETURN = r"""
_value:
  description:
    - One item per round trip, C(key), C(refs) (the C({host, id}) of each account entry it stands for), C(email),
      C(incoming), C(outgoing), C(skip) (why it does not run, or V(null)), C(skip_code), C(cache_key), C(cached)
      and, when it runs, C(call) (the M(mailops.clients.mail_roundtrips) C(trips) entry, with passwords).
  type: list
  elements: dict
"""

from ansible_collections.mailops.clients.plugins.plugin_utils._filter import VERIFY, filter_errors, plan_settings  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import VerifyError  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_roundtrip import plan  # noqa: E402


def _verify_roundtrip_plan(fleet, verified, options=None, endpoint_options=None, cache=None, ttl=0, now=0, secret=None):
    settings = plan_settings(options, endpoint_options, cache, ttl, now, secret)
    with filter_errors(VERIFY, VerifyError):
        return plan(fleet or {}, verified or {}, **settings)


class FilterModule:
    def filters(self):
        return {"_verify_roundtrip_plan": _verify_roundtrip_plan}
