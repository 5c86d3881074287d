# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: _verify_roundtrip_merge
short_description: Add the round trips' outcomes to the verify role's results, lines and reports
version_added: 0.1.0
description:
  - Each round trip's findings join its account's findings, tagged with the endpoint they concern, and the account's
    verdict is derived again by the one rule the gate uses; C(roundtrip) on the account entry carries the status,
    the delivery latency and the test message's C(Message-ID). The endpoint lines, the JSON and JUnit reports and
    the cache document are made again from the result.
extends_documentation_fragment: [mailops.clients._verify, mailops.clients._verify.merge]
options:
  trips:
    description: The plan of P(mailops.clients._verify_roundtrip_plan#filter).
    type: list
    elements: dict
    required: true
  result:
    description: The registered result of M(mailops.clients.mail_roundtrips) (or its skipped result).
    type: dict
    default: {}
  now:
    description: Current time, seconds since the epoch (stored as check time).
    type: float
    default: 0
  ttl:
    description: Cache lifetime in seconds; V(0) disables the cache.
    type: int
    default: 0
  check_mode:
    description: The run is in check mode - round trips that did not run are reported as such and block nothing.
    type: bool
    default: false
  partial_hosts:
    description: The run covered only these hosts, as for P(mailops.clients.mail_verify_merge#filter).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Merge the round trips
  ansible.builtin.set_fact:
    merged: >-
      {{ merged | mailops.clients._verify_roundtrip_merge(trips, result=roundtrips, check_mode=ansible_check_mode) }}
  run_once: true
"""

RETURN = r"""
_value:
  description:
    - The input with the round trips merged; C(summary.roundtrips) counts them by status, C(roundtrip_lines) has one
      line per account with a round trip (status and latency).
  type: dict
"""

from ansible.module_utils.parsing.convert_bool import boolean  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._filter import VERIFY, filter_errors  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import VerifyError  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_report import with_outputs  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_roundtrip import lines, merge  # noqa: E402


def _verify_roundtrip_merge(merged, trips, result=None, now=0, ttl=0, check_mode=False, partial_hosts=None):
    result = result if isinstance(result, dict) else {}
    # failed_when: false in the role resets "failed": a result without round trips is a module failure
    ran = not result.get("skipped")
    failed = (
        (result.get("msg") or "the module failed without a message") if ran and not result.get("roundtrips") else None
    )
    with filter_errors(f"{VERIFY}: cannot merge the round trips", (VerifyError, KeyError, TypeError)):
        out = merge(
            merged,
            list(trips or []),
            result.get("roundtrips") if isinstance(result.get("roundtrips"), dict) else {},
            now=float(now or 0),
            ttl=int(ttl or 0),
            check_mode=boolean(check_mode, strict=False),
            module_message=str(failed) if failed else None,
        )
    out["roundtrip_lines"] = lines(out)
    return with_outputs(out, partial_hosts)


class FilterModule:
    def filters(self):
        return {"_verify_roundtrip_merge": _verify_roundtrip_merge}
