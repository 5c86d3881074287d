# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: _verify_suggest_targets
short_description: The addresses whose domains the verify role asks for "did you mean" settings
version_added: 0.1.0
description:
  - From the merge of P(mailops.clients._verify_merge#filter), the endpoints with an error finding about their
    host, port, protocol or TLS mode (C(dns_failure), C(connection_refused), C(connect_timeout),
    C(connect_failed), C(banner_timeout), C(tls_on_plaintext_port), C(plaintext_on_tls_port), C(wrong_protocol),
    C(starttls_not_offered), C(tls_handshake_failed), C(cert_hostname_mismatch)), and one address per domain of
    the accounts that use them.
extends_documentation_fragment: [mailops.clients._verify, mailops.clients._verify.merge]
"""

EXAMPLES = r"""
- name: Which domains to discover
  ansible.builtin.set_fact:
    targets: "{{ merged | mailops.clients._verify_suggest_targets }}"
"""

RETURN = r"""
_value:
  description: C(emails) (one address per domain, sorted by domain; empty when no endpoint qualifies) and
    C(sources) (the discovery sources to use - the domain's own, never a third-party ISPDB).
  type: dict
"""

from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.mailops.clients.plugins.plugin_utils._verify_suggest import suggest_targets  # noqa: E402


def verify_suggest_targets(merged):
    if not isinstance(merged, Mapping) or not isinstance(merged.get("verified"), Mapping):
        raise AnsibleFilterError("_verify_suggest_targets expects the merge of _verify_merge")
    return suggest_targets(merged["verified"])


class FilterModule:
    def filters(self):
        return {"_verify_suggest_targets": verify_suggest_targets}
