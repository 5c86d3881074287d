# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The verify role's private filters (plugins/filter/_verify_*.py): what their leading underscore means.
    DOCUMENTATION = r"""
options: {}
notes:
  - B(Private to the mailops.clients.verify role, not a public interface). Its name starts with an
    underscore like the collection's private Python modules; its options and result may change in any
    release without a deprecation period. Documented for the role's maintainers.
"""

    # The planning options of _verify_plan and _verify_roundtrip_plan (both coerced by
    # plugins/plugin_utils/_filter.py plan_settings()).
    PLAN = r"""
options:
  options:
    description: Module options for every endpoint (C(validate_certs), C(ca_path), C(server_name), C(timeout),
      C(tls_min_version), C(cert_expiry_warn_days), C(helo_name)).
    type: dict
    default: {}
  endpoint_options:
    description:
      - Per endpoint key (C(imap://mail.example.test:993/tls)) or server host, options that override O(options).
      - Keys are compared as the plan writes them (host in lower case, IPv6 in brackets inside an endpoint key);
        a malformed key or two keys for one endpoint are errors, a key that matches nothing gets a warning.
    type: dict
    default: {}
  cache:
    description: The cache document read from the controller (C({format, entries})).
    type: dict
    default: {}
  ttl:
    description: Seconds a cached result stays valid; V(0) disables the cache.
    type: int
    default: 0
  now:
    description: Current time, seconds since the epoch.
    type: float
    default: 0
"""

    # The input of the filters that read or extend the merge: _verify_host_view, _verify_roundtrip_merge,
    # _verify_suggest, _verify_suggest_targets.
    MERGE = r"""
options:
  _input:
    description: The merge (RV(mailops.clients._verify_merge#filter:_value)), as the role's earlier filters left it.
    type: dict
    required: true
"""

    # The host option of the filters that work on one host: _verify_host_view, _verify_inventory.
    HOST = r"""
options:
  host:
    description: The inventory host, usually C(inventory_hostname).
    type: str
    required: true
"""
