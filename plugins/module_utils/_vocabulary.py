# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The words every layer shares: the endpoint key, the severities, the verdicts and their order.

The inventory, the probe modules, the verify role, its cache and its reports match endpoints by key and
combine verdicts: each imports the definitions here, so that a key written by one is found by the others.
Standard library only: the modules on managed nodes use this file too.
"""

from __future__ import annotations

# A finding's severity; info never counts towards a verdict.
SEVERITIES = ("info", "warning", "error")
# The outcome of an endpoint, an account or a run, from best to worst.
VERDICTS = ("ok", "warning", "error")
_RANK = {name: rank for rank, name in enumerate(VERDICTS)}
# The verdict at which a check fails its task (option fail_on of the *_info modules): error, warning or never.
FAIL_ON = ("error", "warning", "never")


def endpoint_key(endpoint) -> str:
    """``imap://mail.example.test:993/tls``: the identity of an endpoint (protocol, host, port, security).

    ``endpoint`` is a mapping with ``protocol``, ``host``, ``port`` and ``security``. The host is written in
    lower case, as DNS compares names without regard to case (RFC 4343), and an IPv6 address in brackets, as
    in a URI (RFC 3986, section 3.2.2): ``imap://[::1]:993/tls``.
    """
    host = str(endpoint["host"]).lower()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{endpoint['protocol']}://{host}:{int(endpoint['port'])}/{endpoint['security']}"


def worst_verdict(verdicts) -> str:
    """The worst of ``verdicts`` in the order of VERDICTS, ``ok`` when there is none.

    A value that is not a verdict counts as ``error``: a result that cannot be read never passes.
    """
    worst = "ok"
    for name in verdicts:
        rank = _RANK.get(name, _RANK["error"])
        if rank > _RANK[worst]:
            worst = VERDICTS[rank]
    return worst
