# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: _verify_merge
short_description: Combine probe results into the verify role's facts, reports and cache
version_added: 0.1.0
description:
  - Formerly C(mailops.clients.mail_verify_merge); that name is a deprecated alias and will be removed in 1.0.0.
  - Matches the registered results of the validation modules (and fresh cache entries) to the probe plan of
    P(mailops.clients._verify_plan#filter) and derives the verdict and findings of every endpoint and
    account, the per-endpoint verdict lines, the JSON and JUnit XML reports and the new cache document.
  - Only verdicts, findings, TLS and certificate facts are kept; no password or module argument is copied.
extends_documentation_fragment: mailops.clients._verify
options:
  _input:
    description: The probe plan.
    type: list
    elements: dict
    required: true
  fleet:
    description: Normalized fleet (P(mailops.clients.mail_inventory_normalize#filter)).
    type: dict
    required: true
  results:
    description: The C(results) lists of the registered probe loops, concatenated.
    type: list
    elements: dict
    default: []
  now:
    description: Current time, seconds since the epoch (stored as check time).
    type: float
    default: 0
  cache:
    description: The cache document that was read.
    type: dict
    default: {}
  ttl:
    description: Cache lifetime in seconds; V(0) disables the cache.
    type: int
    default: 0
  credentials:
    description:
      - The O(mailops.clients._verify_plan#filter:credentials) option the plan was made with. With V(true), an
        account with a password and password authentication is verified only when its login succeeded on both
        endpoints; a login that could not be checked counts as an error with its reason.
      - Omitted, it is V(true) when the plan carries any login.
    type: bool
  dropped:
    description:
      - Hosts that were asked for but failed before verification (argument or inventory errors), mapped to their
        message. Each is a failed testcase (suite C(hosts)) in the JUnit report and an entry of C(hosts) in the JSON
        report, and the summary verdict becomes V(error).
    type: dict
    default: {}
  partial_hosts:
    description:
      - The run covered only these hosts (for example C(--limit)); the JSON report names them in C(partial.hosts), the
        JUnit report in the property C(partial.hosts) of every suite.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Merge results
  ansible.builtin.set_fact:
    merged: "{{ probes | mailops.clients._verify_merge(fleet, results=imap.results + smtp.results) }}"
  run_once: true
  no_log: true
"""

RETURN = r"""
_value:
  description: The merge.
  type: dict
  contains:
    verified:
      description: C(endpoints) (key to verdict, findings, TLS, certificate, cache state), C(accounts) (host to id
        to verdict, reasons, findings, endpoint keys, credential state, why a login was not checked) and
        C(credentials) (whether logins were checked).
      type: dict
    summary:
      description: Overall verdict and counts, including C(probed) and C(cached) module calls.
      type: dict
    lines:
      description: One line per endpoint with the outcome of the accounts that use it.
      type: list
      elements: str
    report_json:
      description: The JSON report text.
      type: str
    report_junit:
      description: The JUnit XML report text.
      type: str
    cache:
      description:
        - The cache document to store (C({format, entries})); the next run reads it back as
          O(mailops.clients._verify_plan#filter:cache).
      type: dict
"""

from ansible.module_utils.parsing.convert_bool import boolean  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._filter import VERIFY, filter_errors  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verified import VerifyError, merge  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_report import with_outputs  # noqa: E402


def verify_merge(
    probes, fleet, results=None, now=0, cache=None, ttl=0, credentials=None, dropped=None, partial_hosts=None
):
    with filter_errors(f"{VERIFY}: cannot merge probe results", (VerifyError, KeyError, TypeError)):
        merged = merge(
            fleet or {},
            probes or [],
            results or [],
            now=float(now or 0),
            cache=cache or {},
            ttl=int(ttl or 0),
            credentials=None if credentials is None else boolean(credentials, strict=False),
            dropped=dropped or {},
        )
    return with_outputs(merged, partial_hosts)


class FilterModule:
    def filters(self):
        return {"_verify_merge": verify_merge}
