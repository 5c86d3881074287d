# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: _verify_suggest
short_description: Add verified "did you mean" settings to the verify role's merge
version_added: 0.1.0
description:
  - >-
    Takes the merge of P(mailops.clients._verify_merge#filter) and the per-address results of
    M(mailops.clients.mail_settings_info) for the addresses P(mailops.clients._verify_suggest_targets#filter) chose,
    and puts the best verified alternative into every finding about the host, port, protocol or TLS mode of a
    failing endpoint (key C(suggestion)): a text such as C(imap.example.test:993 tls verified), its source and the
    settings to change (C(set port 993, security tls)).
  - Regenerates the verdict lines and both reports with the same partial hosts as before; the cache document is
    left as it was (a suggestion is not a probe result).
extends_documentation_fragment: [mailops.clients._verify, mailops.clients._verify.merge]
options:
  results:
    description: The C(results) of M(mailops.clients.mail_settings_info) run with C(emails).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Add the suggestions
  ansible.builtin.set_fact:
    merged: "{{ merged | mailops.clients._verify_suggest(found.results | default([])) }}"
"""

RETURN = r"""
_value:
  description: The merge with C(suggestion) in the findings it applies to and new C(lines), C(report_json) and
    C(report_junit).
  type: dict
"""

from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_report import with_outputs  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_suggest import (  # noqa: E402
    apply_suggestions,
    endpoint_suggestions,
    report_partial_hosts,
)


def verify_suggest(merged, results=None):
    if not isinstance(merged, Mapping) or not isinstance(merged.get("verified"), Mapping):
        raise AnsibleFilterError("_verify_suggest expects the merge of _verify_merge")
    suggestions = endpoint_suggestions(merged["verified"], results or [])
    if not suggestions:
        return merged
    return with_outputs(apply_suggestions(merged, suggestions), report_partial_hosts(merged))


class FilterModule:
    def filters(self):
        return {"_verify_suggest": verify_suggest}
