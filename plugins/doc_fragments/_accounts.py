# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The input of the filters that take normalized accounts: one host's (mail_accounts_gate, mail_mobileconfig,
    # mail_outlook_windows) or the fleet's (_publish_domains); plugins/plugin_utils/_filter.py
    # filter_errors(accounts=True) says when it is not.
    DOCUMENTATION = r"""
options:
  _input:
    description: Normalized accounts (P(mailops.clients.mail_accounts_normalize#filter)).
    type: list
    elements: dict
    required: true
"""
