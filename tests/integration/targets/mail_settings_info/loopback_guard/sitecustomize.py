# Copyright: contributors to mailops.clients
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Loaded by every Python process of the discovery tests (PYTHONPATH): refuse any address outside loopback.

A connect or sendto to a non-loopback IP address raises (the process cannot leave the lab) and is written to
$MAILOPS_LOOPBACK_GUARD_LOG, which the test checks afterwards. Host names never reach connect: the socket
module resolves them first, and the resolved address is what is checked.
"""

import ipaddress
import os
import sys

_LOG = os.environ.get("MAILOPS_LOOPBACK_GUARD_LOG")


def _guard(event, args):
    if event not in ("socket.connect", "socket.sendto"):
        return
    address = args[-1] if event == "socket.sendto" else args[1]
    if not isinstance(address, tuple) or not address or not isinstance(address[0], str):
        return  # a Unix socket path
    try:
        ip = ipaddress.ip_address(address[0].split("%")[0])
    except ValueError:
        return
    if ip.is_loopback:
        return
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {event} {address[0]} {' '.join(sys.argv[:2])}\n")
    raise OSError(f"loopback guard: {event} to {address[0]} refused (tests never leave 127.0.0.0/8)")


sys.addaudithook(_guard)
